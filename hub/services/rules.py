"""The admin-edited usage-rules page and each member's acceptance of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from hub import permissions
from hub.db import utcnow
from hub.errors import Forbidden, Reason
from hub.models import Setting, User, Via
from hub.services import events

KEY = "rules_markdown"
DEFAULT_RULES = """# Hiroba

- Share openly: post in open channels so everyone can find and learn.
- Put each topic in the channel whose purpose fits it.
- Be kind: criticise ideas, never people. Flag a post that hurts someone.
"""


def get_rules(session: Session) -> str:
    """The rules page as Markdown (a default text until an admin writes one)."""
    row = session.get(Setting, KEY)
    return row.value if row is not None and row.value.strip() else DEFAULT_RULES


def set_rules(session: Session, *, actor: User | None, markdown: str) -> None:
    """Replace the rules page (admins only; actor None is the admin CLI)."""
    if actor is not None and not permissions.is_admin(actor):
        raise Forbidden(Reason.ADMIN_ONLY)
    row = session.get(Setting, KEY)
    if row is None:
        session.add(Setting(key=KEY, value=markdown.strip()))
    else:
        row.value = markdown.strip()


def accept_rules(session: Session, user: User, via: Via, *, now: datetime | None = None) -> bool:
    """Record that ``user`` accepted the rules; False if they already had."""
    if user.rules_accepted_at is not None:
        return False
    user.rules_accepted_at = now or utcnow()
    events.emit(session, "rules_accepted", actor_id=user.id, subject_id=user.id, via=str(via))
    return True
