"""The same reply through the web and through mail leaves the same rows."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hub.models import Event, Membership, Post
from mailbridge import ingest
from tests.factories import make_channel, make_thread, make_user
from tests.mailbridge.test_ingest import mail, reply_address

BODY = "承知しました。来週までに確認します。"


def state(session: Any, thread_id: int, user_id: int) -> dict[str, Any]:
    """What a reply leaves behind, apart from the door it came through."""
    post = session.scalar(select(Post).where(Post.thread_id == thread_id).order_by(Post.id.desc()))
    events = session.scalars(select(Event.kind).where(Event.post_id == post.id).order_by(Event.id))
    joined = session.scalar(
        select(Membership.id).where(Membership.user_id == user_id)
    )  # fmt: skip
    return {
        "author": post.author.email,
        "body": post.body,
        "thread": post.thread_id,
        "deleted": post.deleted_at,
        "hidden": post.hidden,
        "events": list(events),
        "member": joined is not None,
    }


@pytest.mark.parametrize("door", ["web", "email"])
def test_reply_parity(app: Flask, session: Any, client: FlaskClient, auth: Any, door: str) -> None:
    peer = make_user(session, email="hanako@corp.example", name="花子")
    boss = make_user(session, email="buchou@corp.example", name="部長")
    general = make_channel(session, slug="general", name="全社")
    thread_id = make_thread(session, channel=general, author=peer, title="予算").thread_id
    session.commit()
    if door == "web":
        auth.login("buchou@corp.example")
        resp = client.post(f"/t/{thread_id}/reply", data={"body": BODY})
        assert resp.status_code == 303
    else:
        to = reply_address(app, boss, thread_id)
        body = (
            f"{BODY}\n\n2026年11月26日(木) 10:00 花子 <hanako@corp.example>:\n> The first post.\n"
        )
        assert ingest.receive(app, mail(frm="buchou@corp.example", to=to, body=body), [to],
                              "smtp").status == "replied"  # fmt: skip
    got = state(session, thread_id, boss.id)
    assert got == {
        "author": "buchou@corp.example",
        "body": BODY,
        "thread": thread_id,
        "deleted": None,
        "hidden": False,
        "events": ["post_created"],
        "member": True,
    }
    via = session.scalar(select(Post.via).order_by(Post.id.desc()))
    assert via == door
