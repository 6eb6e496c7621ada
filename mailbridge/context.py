"""The types every inbound stage shares: the context a message is handled in, and its outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from hub.models import InboundMessage, User
from mailbridge.addresses import Destination
from mailbridge.parse import Incoming

# Every status a message can end with (also the values `hiroba mail log --status` takes).
STATUSES = (
    "posted", "replied", "reacted", "command", "acknowledged", "thanked", "held", "rejected",
    "ignored", "bounce", "duplicate", "failed",
)  # fmt: skip


@dataclass
class InboundContext:
    """One message on its way through the pipeline."""

    app: Flask
    session: Session
    row: InboundMessage
    incoming: Incoming
    rcpts: list[str]
    destination: Destination | None = None
    # The recipient address that produced ``destination``.
    rcpt: str | None = None
    sender: User | None = None


@dataclass(frozen=True)
class Outcome:
    """How a message ended: what `hiroba mail ingest --json` and the mail log show."""

    status: str
    reason: str | None = None
    thread_id: int | None = None
    post_id: int | None = None
    author: str | None = None
    text: str | None = None
    trimmed: str | None = None
    # One entry per post when one mail made several (a digest reply answering several threads).
    results: list[dict[str, Any]] = field(default_factory=list)
