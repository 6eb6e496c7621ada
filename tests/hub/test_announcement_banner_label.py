"""The banner of an urgent announcement says "Urgent" once: not before a title that already
says so in brackets (【緊急】), as the mail's subject does not (test client, both databases)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from hub.services import announcements
from tests.factories import make_user, signed_in


def banner(app: Flask, session: Any, title: str) -> str:
    admin = make_user(session, email="admin@corp.example", name="管理者", admin=True)
    make_user(session, email="member@corp.example", name="社員", locale="en")
    announcements.publish(session, author=admin, title=title, body="本文です。",
                          ack_required=True, urgent=True)  # fmt: skip
    session.commit()
    page = signed_in(app, "member@corp.example").get("/").get_data(as_text=True)
    start = page.index('class="announcement-banner"')
    return page[start : page.index("</aside>", start)]


def test_a_title_that_says_urgent_is_not_labelled_again(app: Flask, session: Any) -> None:
    shown = banner(app, session, "【緊急】本日の出社について")
    assert "Urgent ·" not in shown and "【緊急】本日の出社について" in shown


def test_an_urgent_title_that_does_not_say_so_is_labelled(app: Flask, session: Any) -> None:
    assert "Urgent · Announcement:" in banner(app, session, "本日の出社について")
