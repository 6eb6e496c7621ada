"""The signed preferences page (every mail's footer) when a save is refused: every field stays as
the member typed it, the message names the field at fault, the digest time is chosen as on
/settings (HH:00), and the header's language switch works there too."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from hub import db
from hub.models import Delivery, Membership, User
from hub.services import channels
from mailbridge import outbound
from tests.conftest import japanese_app
from tests.factories import make_channel, make_user


class Form(HTMLParser):
    """What a browser would send back from the preferences form (the page's POST form to
    itself: the header's forms name their action), and which of its fields are invalid."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.invalid: set[str] = set()
        self._forms = 0
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method") == "post" and "action" not in a:
            self._forms += 1
        if self._forms != 1:
            return
        if a.get("aria-invalid") == "true":
            self.invalid.add(a.get("name", ""))
        if tag == "input" and a.get("name"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select is not None:
            # An option without a value sends its text (the time zones).
            self._options.append((a.get("value", "\0"), "selected" in a))

    def handle_data(self, data: str) -> None:
        if self._select is not None and self._options and self._options[-1][0] == "\0":
            self._options[-1] = (data.strip(), self._options[-1][1])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._forms == 1:
            self._forms = 2
        if tag == "select" and self._select is not None:
            chosen = [v for v, on in self._options if on] or [self._options[0][0]]
            self.fields.append((self._select, chosen[0]))
            self._select = None

    def value(self, name: str) -> str:
        return dict(self.fields)[name]

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.fields if k == name]


def _member(app: Flask, locale: str = "en") -> tuple[int, int, str]:
    """An email-only member of #営業 on the defaults (digest at 09:00 on Mondays, no echo);
    their id, the channel's id and the path of their preferences page."""
    with db.transaction(app) as s:
        user = make_user(s, email="yamamoto@corp.example", email_only=True, locale=locale,
                         working_days="mon-fri", working_hours="09:00-18:00")  # fmt: skip
        channel = make_channel(s, slug="sales", name="営業")
        channels.join(s, user=user, channel=channel)
        user_id, channel_id = user.id, channel.id
    path = outbound.prefs_url(app, user_id).removeprefix(app.config["BASE_URL"])
    return user_id, channel_id, path


def _typed(channel_id: int, **changes: Any) -> dict[str, Any]:
    """Everything changed on the form; no working day ticked, so the save is refused."""
    form = {
        "delivery": "weekly",
        "digest_hour": "7",
        "digest_weekday": "4",
        "echo_own_posts": "1",
        "timezone": "Europe/Berlin",
        "work_start": "08:00",
        "work_end": "17:00",
        f"channel_{channel_id}": "every_post",
    }
    return {**form, **changes}


def _saved(app: Flask, user_id: int) -> tuple[User, Membership]:
    with db.transaction(app) as s:
        user = s.get(User, user_id)
        membership = s.scalars(select(Membership).where(Membership.user_id == user_id)).one()
        s.expunge_all()
    return user, membership


def test_a_refused_save_keeps_every_field_as_typed(app, client):
    user_id, channel_id, path = _member(app)
    refused = client.post(path, data=_typed(channel_id))
    assert refused.status_code == 422
    assert "Choose at least one working day." in refused.text
    form = Form(refused.text)
    assert form.value("delivery") == "weekly"
    assert form.value("digest_hour") == "7"
    assert form.value("digest_weekday") == "4"
    assert form.values("echo_own_posts") == ["1"]
    assert form.value("timezone") == "Europe/Berlin"
    assert (form.value("work_start"), form.value("work_end")) == ("08:00", "17:00")
    assert form.values("working_days") == []
    assert form.value(f"channel_{channel_id}") == "every_post"
    user, membership = _saved(app, user_id)
    assert user.delivery is None and user.digest_hour == 9 and membership.delivery is None

    # The member ticks a day and saves the form as the page shows it: all of it is saved.
    again = client.post(path, data=MultiDict([*form.fields, ("working_days", "fri")]))
    assert again.status_code == 200 and "Saved." in again.text
    user, membership = _saved(app, user_id)
    assert (user.delivery, user.digest_hour, user.digest_weekday) == (Delivery.WEEKLY, 7, 4)
    assert user.echo_own_posts and user.timezone == "Europe/Berlin"
    assert (user.working_days, user.work_start, user.work_end) == ("fri", 8 * 60, 17 * 60)
    assert membership.delivery == Delivery.EVERY_POST


def test_a_refused_value_names_its_field(app, client):
    user_id, channel_id, path = _member(app)
    week = {"working_days": ["mon", "tue"]}
    for changes, field, message in (
        ({"digest_hour": "25"}, "digest_hour", "Choose the time your digest arrives"),
        ({"digest_hour": "nine"}, "digest_hour", "Choose the time your digest arrives"),
        ({"digest_weekday": "9"}, "digest_weekday", "Choose the day your weekly digest"),
        ({"delivery": "sometimes"}, "delivery", "Choose how you get mail from the list."),
        ({"timezone": "Mars/Olympus"}, "timezone", "Choose a time zone from the list."),
        (
            {f"channel_{channel_id}": "loudly"},
            f"channel_{channel_id}",
            "Choose the mail for 営業 from the list.",
        ),
    ):
        refused = client.post(path, data={**_typed(channel_id, **changes), **week})
        assert refused.status_code == 422, changes
        assert message in refused.text and "A value is not valid." not in refused.text
        form = Form(refused.text)
        assert form.invalid == {field}
        # The other fields keep what was typed (a value not in a list cannot be shown).
        assert form.value("delivery") == ("" if "delivery" in changes else "weekly")
        assert form.value("digest_weekday") == ("0" if "digest_weekday" in changes else "4")
        assert form.value("work_start") == "08:00"
        assert form.values("working_days") == ["mon", "tue"]
    user, _membership = _saved(app, user_id)
    assert user.delivery is None and user.timezone == "Asia/Tokyo"


def test_the_digest_time_is_chosen_as_on_the_settings_page(app, client, auth):
    _user_id, _channel_id, path = _member(app)
    form = Form(client.get(path).text)
    assert form.value("digest_hour") == "9"
    page = client.get(path).text
    assert '<option value="9" selected>09:00</option>' in page
    assert 'type="number" name="digest_hour"' not in page
    with db.transaction(app) as s:
        make_user(s, email="tanaka@corp.example")
    auth.login("tanaka@corp.example")
    assert '<option value="9" selected>09:00</option>' in client.get("/settings").text


def test_the_language_switch_works_on_the_signed_page(database_url, tmp_path):
    with japanese_app(database_url, tmp_path) as app:
        user_id, _channel_id, path = _member(app, locale="ja")
        browser: FlaskClient = app.test_client()
        assert "<h1>メールの設定</h1>" in browser.get(path).text
        switched = browser.post("/locale", data={"locale": "en", "next": path})
        assert switched.status_code == 303 and switched.headers["Location"] == path
        page = browser.get(path).text
        assert "<h1>Mail preferences</h1>" in page and 'lang="en"' in page
        # This browser's choice: the member's mail stays in Japanese.
        user, _membership = _saved(app, user_id)
        assert user.locale == "ja"
        browser.post("/locale", data={"locale": "ja", "next": path})
        assert "<h1>メールの設定</h1>" in browser.get(path).text
        # Another browser opening the same mail link still gets the member's language.
        other = app.test_client()
        assert "<h1>メールの設定</h1>" in other.get(path, headers={"Accept-Language": "en"}).text
