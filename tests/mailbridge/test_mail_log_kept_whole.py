"""The admin's mail log says when a mail was posted whole (nothing new above its quotes, so
nothing was trimmed: Post.kept_whole), as `hiroba mail log --json` does: a note on the message's
page and a marker in the list, in the admin's language. Mail in over the real SMTP intake."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db
from hub.models import InboundMessage, User
from mailbridge import smtp
from tests.conftest import free_port, japanese_app
from tests.factories import make_channel, make_user, signed_in

FORWARDED = (
    "On Fri, Nov 27, 2026 at 9:12 AM Customer <buyer@client.example> wrote:\n"
    "> Could you send us a quote for 40 units by Monday?\n"
)
TRIMMED = "Lunch at noon?\n\nOn Fri, Sato wrote:\n> shall we eat?\n"
NOTE = {
    "en": "Posted whole, quotes included: nothing new was found above the quoted text",
    "ja": "引用も含めてメール全体を投稿しました",
}
MARKER = {"en": "whole mail", "ja": "全文"}


@pytest.fixture
def ja_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    with japanese_app(database_url, tmp_path) as app:
        yield app


def send(port: int, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Boss <boss@corp.example>", "sales@hub.test", subject
    msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.send_message(msg)


def two_mails(app: Flask, locale: str) -> dict[str, int]:
    """A forwarded mail (posted whole) and one whose quote was cut, over the SMTP intake."""
    with db.transaction(app) as s:
        make_user(s, email="admin@corp.example", name="Admin", admin=True, locale=locale)
        make_user(s, email="boss@corp.example", name="Boss Baba", email_only=True)
        make_channel(s, slug="sales", name="Sales")
    controller = smtp.make_controller(app, "127.0.0.1", free_port())
    controller.start()
    try:
        send(controller.port, "FW: Quote request", FORWARDED)
        send(controller.port, "Lunch", TRIMMED)
    finally:
        controller.stop()
    with db.transaction(app) as s:
        rows = s.execute(select(InboundMessage.subject, InboundMessage.id, InboundMessage.status))
        ids = {subject: row_id for subject, row_id, status in rows if status == "posted"}
    assert set(ids) == {"FW: Quote request", "Lunch"}
    return ids


def marked_rows(page: str, marker: str) -> set[int]:
    """The mail log rows (inbound ids) that carry the kept-whole marker."""
    rows = re.findall(r'<tr id="inbound-(\d+)"(.*?)</tr>', page, flags=re.S)
    return {int(n) for n, cells in rows if 'class="badge kept-whole"' in cells and marker in cells}


def test_the_admin_sees_which_mail_was_posted_whole(app: Flask) -> None:
    check(app, "en")


def test_in_japanese(ja_app: Flask) -> None:
    check(ja_app, "ja")


def check(app: Flask, locale: str) -> None:
    ids = two_mails(app, locale)
    admin = signed_in(app, "admin@corp.example")
    with db.transaction(app) as s:
        assert s.scalar(select(User.locale).where(User.email == "admin@corp.example")) == locale
    listing = admin.get("/admin/mail")
    assert listing.status_code == 200
    assert marked_rows(listing.text, MARKER[locale]) == {ids["FW: Quote request"]}
    whole = admin.get(f"/admin/mail/{ids['FW: Quote request']}").text
    assert 'id="kept-whole"' in whole and NOTE[locale] in whole
    trimmed = admin.get(f"/admin/mail/{ids['Lunch']}").text
    assert 'id="kept-whole"' not in trimmed and NOTE[locale] not in trimmed
