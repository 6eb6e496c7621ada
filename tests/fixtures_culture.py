"""Fixtures for the culture tests (announcements, thanks, governance, dashboard)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub.db import transaction, utcnow
from hub.models import Event
from mailbridge import culture_out


@pytest.fixture
def db(app: Flask) -> Iterator[Any]:
    """A session with no app context pushed, so test-client requests tear down their own
    session (commit or roll back before the app writes: SQLite holds one writer at a time)."""
    s = app.extensions["hiroba.sessionmaker"]()
    try:
        yield s
    finally:
        s.close()


def fan_out(app: Flask, session: Any = None) -> int:
    """Run the culture handlers over unprocessed events, as the worker's fan-out does."""
    if session is not None:
        session.commit()
    n = 0
    with transaction(app) as s:
        for event in s.scalars(select(Event).where(Event.processed_at.is_(None))):
            n += culture_out.handle(app, s, event)
            event.processed_at = utcnow()
    return n
