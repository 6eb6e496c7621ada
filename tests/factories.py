"""Plain factory functions with keyword overrides (they flush, the test commits)."""

from __future__ import annotations

import itertools
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hub.db import utcnow
from hub.models import Channel, Post, User, Via
from hub.services import accounts, channel_creation, threads

PASSWORD = "correct horse battery"
_n = itertools.count(1)


def make_user(session: Session, **overrides: Any) -> User:
    n = next(_n)
    kw: dict[str, Any] = {
        "email": f"member{n}@corp.example",
        "name": f"Member {n}",
        "password": PASSWORD,
        "working_days": "mon-sun",
        "working_hours": "00:00-24:00",
        # Tests read English by default; tests of Japanese pages and mail say locale="ja".
        "locale": "en",
    }
    kw.update(overrides)
    if kw.get("email_only"):
        kw.setdefault("password", None)
    # A web member is sent to the rules on their first visit (the default rules too), so a
    # test about anything else starts with a member who accepted them (version 1, no event);
    # tests of the first visit say rules_accepted=False. Email-only members accept by mail.
    accepted = kw.pop("rules_accepted", not kw.get("email_only"))
    user = accounts.create_user(session, **kw)
    if accepted:
        user.rules_accepted_at = utcnow()
        user.rules_version = 1
    return user


def make_channel(session: Session, **overrides: Any) -> Channel:
    n = next(_n)
    kw: dict[str, Any] = {
        "slug": f"channel{n}",
        "name": f"Channel {n}",
        "purpose": "Where the team talks about its work.",
    }
    kw.update(overrides)
    return channel_creation.create_channel(session, **kw)


def make_thread(
    session: Session,
    *,
    channel: Channel,
    author: User,
    title: str = "A thread",
    body: str = "The first post.",
    via: Via = Via.WEB,
    **kw: Any,
) -> Post:
    """Start a thread; returns its first post."""
    return threads.start_thread(
        session, author=author, channel=channel, title=title, body=body, via=via, **kw
    )


def signed_in(app: Flask, email: str, password: str = PASSWORD) -> FlaskClient:
    """A browser of its own (asking for English), signed in as ``email`` through the real form."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    r = client.post("/login", data={"email": email, "password": password})
    assert r.status_code == 303, r.text
    return client
