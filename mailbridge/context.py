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
    # Nothing new was found above the quotes: the whole mail was posted (see Post.kept_whole).
    kept_whole: bool = False
    # One entry per post when one mail made several (a digest reply answering several threads),
    # and one per destination when it went to several of our addresses (with rcpt and status).
    results: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class InboundContext:
    """One message on its way through the pipeline."""

    app: Flask
    session: Session
    row: InboundMessage
    incoming: Incoming
    rcpts: list[str]
    # The destination being handled now, and the recipient address that produced it.
    destination: Destination | None = None
    rcpt: str | None = None
    sender: User | None = None
    # Every destination of the message, in the order they are handled: (address, destination).
    destinations: list[tuple[str | None, Destination]] = field(default_factory=list)
    # The destinations handled so far, with their outcomes.
    handled: list[tuple[str | None, Outcome]] = field(default_factory=list)
    # For a later delivery of the same mail to more of our addresses: the first one's outcome.
    earlier: list[Outcome] = field(default_factory=list)
    # The threads the mail answers (In-Reply-To/References), nearest first: ``route`` reads
    # them when the mail goes to a channel address.
    answered: list[int] = field(default_factory=list)
    # The quote stripper found no new text and kept the whole mail (quotes and attribution).
    kept_whole: bool = False
