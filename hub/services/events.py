"""Write event rows in the caller's transaction, for the mail bridge to read later."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.models import Event


def emit(
    session: Session,
    kind: str,
    *,
    actor_id: int | None = None,
    channel_id: int | None = None,
    thread_id: int | None = None,
    post_id: int | None = None,
    subject_id: int | None = None,
    **data: Any,
) -> Event:
    """Record that ``kind`` happened; nothing is sent unless the transaction commits."""
    event = Event(
        kind=kind,
        actor_id=actor_id,
        channel_id=channel_id,
        thread_id=thread_id,
        post_id=post_id,
        subject_id=subject_id,
        data=data,
    )
    session.add(event)
    return event
