"""What the hub mailed back to the sender of an inbound message, as the mail log shows it.

The bridge keys its answers by the message (``refusal:<id>``, ``command:<id>``) or by the text
it kept from it (``which:<pending reply>:...``), so the log can show what was sent, is waiting
or could not go, instead of assuming that an answer left.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hub.models import InboundMessage, OutboxMessage, PendingReply


def answers_to(session: Session, row: InboundMessage) -> list[OutboxMessage]:
    """The outbox rows that answer ``row``'s sender, oldest first."""
    keys = [
        OutboxMessage.dedupe_key == f"refusal:{row.id}",
        OutboxMessage.dedupe_key.startswith(f"refusal:{row.id}:", autoescape=True),
        OutboxMessage.dedupe_key == f"command:{row.id}",
    ]
    pending = session.scalars(select(PendingReply.id).where(PendingReply.inbound_id == row.id))
    keys += [
        OutboxMessage.dedupe_key.startswith(f"which:{pid}:", autoescape=True) for pid in pending
    ]
    stmt = select(OutboxMessage).where(or_(*keys)).order_by(OutboxMessage.id)
    return list(session.scalars(stmt))
