"""Wording on admin and culture pages (test client, both databases): the navigation marks the
one section a page belongs to (Thanks and Rules share a blueprint, and were both marked), and
the moderation audit trail says what was done in words, not its code ("hide")."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from hub.models import Via
from hub.services import moderation, rules
from tests import fixtures_culture
from tests.factories import make_channel, make_thread, make_user, signed_in

db = fixtures_culture.db


def current(page: str) -> list[str]:
    """The labels of the navigation links marked as the current page."""
    nav = page.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="[^"]*" aria-current="page">([^<]+?)\s*(?:<|$)', nav)


@pytest.fixture
def world(app: Flask, db: Any) -> dict[str, int]:
    admin = make_user(db, email="admin@corp.example", name="Admin", admin=True)
    member = make_user(db, email="m@corp.example", name="Member")
    for user in (admin, member):
        rules.accept_rules(db, user, Via.WEB)  # past the first-visit rules page
    channel = make_channel(db, slug="general", name="General")
    post = make_thread(db, channel=channel, author=member, title="T", body="b")
    flaggers = [make_user(db) for _ in range(2)]
    for user in flaggers:
        moderation.flag(db, user=user, post=post, reason="rude", threshold=2)
    moderation.hide(db, actor=admin, post=post, note="kept hidden")
    moderation.restore(db, actor=admin, post=post, note="on second thought")
    db.commit()
    return {"member": member.id, "channel": channel.id}


@pytest.mark.parametrize(
    ("path", "marked"),
    [("/thanks", ["Thanks"]), ("/rules", ["Rules"]), ("/thanks/member/{member}", ["Thanks"]),
     ("/admin/moderation", ["Moderation"]), ("/admin/governance", ["Channel governance"]),
     ("/c/general", ["Channels"]), ("/settings", ["Settings"])],
)  # fmt: skip
def test_navigation_marks_the_pages_own_section(
    app: Flask, world: dict[str, int], path: str, marked: list[str]
) -> None:
    page = signed_in(app, "admin@corp.example").get(path.format(**world)).text
    assert current(page) == marked


def test_moderation_history_says_what_was_done(app: Flask, world: dict[str, int]) -> None:
    page = signed_in(app, "admin@corp.example").get("/admin/moderation").text
    cells = re.findall(r'<td data-action="(\w+)">([^<]+)</td>', page)
    assert sorted(cells) == [
        ("auto_hide", "Hidden automatically (flags)"),
        ("hide", "Hidden by an admin"),
        ("restore", "Shown again / flags dismissed"),
    ]
    assert "<td>hide</td>" not in page and "<td>auto_hide</td>" not in page
