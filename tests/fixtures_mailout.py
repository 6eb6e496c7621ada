"""Helpers the mail-out tests share: deliver everything, read what the sink got."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from flask import Flask

from mailbridge import delivery, fanout


def deliver(app: Flask, now: datetime | None = None) -> int:
    """Fan out every pending event, then send everything due (as `hiroba mail flush` does)."""
    while fanout.fan_out(app, now=now):
        pass
    return delivery.drain_outbox(app, limit=10_000, now=now)


def to(sink: Any, address: str) -> list[EmailMessage]:
    """The messages the sink received for ``address``, oldest first."""
    return [m["msg"] for m in sink.messages if address in m["rcpt_tos"]]


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def ids(value: object) -> list[str]:
    """The Message-IDs in a References/In-Reply-To value."""
    return [x.strip("<>") for x in str(value or "").split()]
