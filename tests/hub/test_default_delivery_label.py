"""The delivery setting's "Default" says what the member gets at the default, by kind of member
(test client, both databases): a web member hears of mentions and announcements (no reply mail,
unlike the explicit "Mentions and replies only"); an email-only member gets the daily digest plus
mentions, replies in threads they took part in and announcements. Same on /settings and on the
signed preferences page, whether or not the member chose another mode."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from hub import db
from hub.models import Delivery, Via
from hub.services import accounts, rules
from mailbridge import outbound
from tests.factories import PASSWORD, make_user, signed_in

WEB = "Default (mentions and announcements)"
MAIL = (
    "Default (daily digest, plus mentions, replies in threads you took part in, and announcements)"
)


def default_option(page: str) -> str:
    """The text of the delivery select's empty ("Default") option."""
    found = re.search(r'<select name="delivery">\s*<option value=""[^>]*>([^<]*)</option>', page)
    assert found is not None, page
    return found.group(1).replace("&#39;", "'")


@pytest.mark.parametrize(
    ("email_only", "chosen", "label"),
    [(False, None, WEB), (True, None, MAIL), (False, Delivery.WEEKLY, WEB),
     (True, Delivery.MENTIONS, MAIL)],
)  # fmt: skip
def test_settings_default_says_what_the_member_gets(
    app: Flask, session: Any, email_only: bool, chosen: Delivery | None, label: str
) -> None:
    user = make_user(session, email="m@corp.example", email_only=email_only, password=PASSWORD)
    rules.accept_rules(session, user, Via.WEB)  # past the first-visit rules page
    if chosen:
        accounts.update_preferences(session, user, delivery=chosen)
    session.commit()
    page = signed_in(app, "m@corp.example").get("/settings").get_data(as_text=True)
    assert default_option(page) == label
    assert "Mentions and replies only)" not in default_option(page)


@pytest.mark.parametrize(
    ("email_only", "chosen", "label"),
    [(False, None, WEB), (True, None, MAIL), (True, Delivery.WEEKLY, MAIL),
     (False, Delivery.EVERY_POST, WEB)],
)  # fmt: skip
def test_signed_preferences_default_says_what_the_member_gets(
    app: Flask, session: Any, email_only: bool, chosen: Delivery | None, label: str
) -> None:
    user = make_user(session, email_only=email_only)
    if chosen:
        accounts.update_preferences(session, user, delivery=chosen)
    session.commit()
    path = outbound.prefs_url(app, user.id).removeprefix(app.config["BASE_URL"])
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get(path).get_data(as_text=True)
    # The member's own choice is still the selected option; the default only names the default.
    if chosen:
        assert re.search(rf'<option value="{chosen.value}"\s+selected>', page)
    assert default_option(page) == label


def test_digest_choices_say_what_still_comes_and_announcements_reach_everyone(app):
    """Choosing a digest keeps mail for mentions and replies in one's threads, and no choice
    stops announcements: the choices say so (members thought "weekly digest" meant nothing
    else, then got mail)."""
    with db.transaction(app) as s:
        make_user(s, email="web@corp.example", name="Web")
    page = signed_in(app, "web@corp.example").get("/settings").text
    assert "Weekly digest, plus mentions and replies in your threads" in page
    assert "Announcements from the admins reach everyone, whatever you choose here." in page
