"""Admin pages say in words what the hub's codes mean, in the admin's language: the mail log's
status filter and badges, and how each member acknowledged an announcement; the codes stay in
URLs and JSON."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale

from hub import db
from hub.models import InboundMessage, Via
from hub.services import acknowledgements, announcements
from hub.web.announcements import DOORS
from hub.web.mail_admin import STATUS_LABELS, STATUSES
from tests.conftest import japanese_app
from tests.factories import make_channel, make_user, signed_in


@pytest.fixture
def ja_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    with japanese_app(database_url, tmp_path) as app:
        yield app


@pytest.fixture
def world(ja_app: Flask) -> dict[str, int]:
    """A Japanese admin and an English one, one mail in the log, an announcement acknowledged
    on the web, by mail and through the link in the mail."""
    with db.transaction(ja_app) as s:
        admin = make_user(s, email="kanri@corp.example", name="管理者", admin=True, locale="ja")
        make_user(s, email="admin@corp.example", name="Admin", admin=True, locale="en")
        make_channel(s, slug="general", name="全体")
        item = announcements.publish(s, author=admin, title="運用ルール", body="読んでください",
                                     ack_required=True, urgent=False)  # fmt: skip
        for n, via in enumerate((Via.WEB, Via.EMAIL, Via.LINK)):
            member = make_user(s, email=f"m{n}@corp.example", name=f"社員{n}")
            acknowledgements.acknowledge(s, user=member, announcement=item, via=via)
        s.add(InboundMessage(message_key="<a@x>", raw=b"x", source="cli", sender="a@x",
                             subject="件名", status="posted"))  # fmt: skip
        return {"item": item.id}


def in_words(app: Flask, label: object, locale: str) -> str:
    """The label as an admin reading ``locale`` sees it."""
    with app.test_request_context(), force_locale(locale):
        return str(label)


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_mail_log_statuses_are_words(ja_app: Flask, world: dict[str, int], locale: str) -> None:
    admin = signed_in(ja_app, "kanri@corp.example" if locale == "ja" else "admin@corp.example")
    page = admin.get("/admin/mail").text
    options = dict(re.findall(r'<option value="(\w+)" ?>([^<]+)</option>', page))
    assert set(options) == set(STATUSES)
    for code, label in options.items():
        assert label == in_words(ja_app, STATUS_LABELS[code], locale)
        assert label != code
    badge = re.search(r'<span class="badge" data-status="posted">([^<]+)</span>', page)
    assert badge is not None and badge.group(1) == options["posted"]
    # The code stays in the URL; the chosen filter is shown in words.
    filtered = admin.get("/admin/mail?status=posted").text
    assert '<option value="posted" selected>' + options["posted"] in filtered
    assert ">cli<" not in page and ">posted<" not in page


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_how_an_announcement_was_acknowledged_is_in_words(
    ja_app: Flask, world: dict[str, int], locale: str
) -> None:
    admin = signed_in(ja_app, "kanri@corp.example" if locale == "ja" else "admin@corp.example")
    page = admin.get(f"/admin/announcements/{world['item']}").text
    cells = dict(re.findall(r'<td data-via="(\w+)">([^<]+)</td>', page))
    assert set(cells) == {"web", "mail", "link"}
    for code, label in cells.items():
        assert label == in_words(ja_app, DOORS[code], locale) and label != code
    if locale == "en":
        assert cells == {
            "web": "On the web",
            "mail": "By mail",
            "link": "Through the link in the mail",
        }
    # The status (JSON for the CLI and scripts) keeps the codes.
    with db.transaction(ja_app) as s:
        status = acknowledgements.status(s, announcements.get(s, world["item"]))
    assert sorted(r["via"] for r in status["acknowledged"]) == ["link", "mail", "web"]
