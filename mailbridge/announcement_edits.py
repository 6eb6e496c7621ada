"""An announcement edited while its mail waits: the waiting mail leaves as the text reads now.

Announcement mail that is not urgent waits in the outbox for each member's working hours, and
so does a reminder. When an admin changes the title or the text without asking everyone again
(a typo fixed: ``announcements.edit`` writes ``announcement_edited``), the mail of that version
not yet gone is written anew, rendered from the announcement as it is now, under the same key
(``culture_out.announcement_mail``), again for the member's working hours. Until the fan-out
has run this, a waiting mail that falls due does not leave with the old text
(``still_wanted.EDITED``); it is written anew here too. A mail a drain holds right now is sent
or not by the time this runs, and is left as it is (as ``restored`` does with post mail). Asking
everyone again makes a new version, whose own mail replaces the old one's (``still_wanted``).
"""

from __future__ import annotations

from collections import defaultdict

from flask import Flask
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from hub.models import Announcement, Event, OutboxMessage, User
from mailbridge.culture_out import ANNOUNCEMENT_KEYS, announcement_mail, announcement_of
from mailbridge.still_wanted import EDITED

_OWED = or_(
    OutboxMessage.status == "pending",
    (OutboxMessage.status == "cancelled") & (OutboxMessage.last_error == EDITED),
)


def on_announcement_edited(app: Flask, session: Session, event: Event) -> None:
    """Fan-out handler for announcement_edited: write the mail still owed anew."""
    item = session.get(Announcement, event.subject_id or 0)
    if item is None:
        return
    for (template, key), owed in _owed(session, item).items():
        # Only rows not leaving now: one a drain holds is sent or not by the time this runs.
        session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(owed.values()), _OWED))
        users = session.scalars(select(User).where(User.id.in_(owed)).order_by(User.id))
        announcement_mail(app, session, item, list(users), template=template, key=key)


def _owed(session: Session, item: Announcement) -> dict[tuple[str, str], dict[int, int]]:
    """The mail of ``item``'s version not gone yet (waiting, or held back by ``EDITED``) to
    members who still take mail, by template and key: member id -> outbox row. Mail to a member
    whose mail stopped stays, for the drain to cancel as it does."""
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.dedupe_key, User.id)
        .join(User, User.id == OutboxMessage.user_id)
        .where(
            or_(*(OutboxMessage.dedupe_key.startswith(k) for k in ANNOUNCEMENT_KEYS)),
            OutboxMessage.dedupe_key.endswith(f":{item.id}:v{item.version}"),
            _OWED,
            User.active.is_(True),
            User.bouncing.is_(False),
        )
    )
    owed: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for row_id, kind, key, user_id in rows:
        if announcement_of(key) == (item.id, item.version):
            owed[(kind, key.rsplit(":", 2)[0])][user_id] = row_id
    return owed
