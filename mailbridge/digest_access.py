"""What a digest needs to know of each member, read for a batch of members at once: the channels
they joined (with their delivery override) or muted from outside, and which versions of the
announcements that ask them they have acknowledged."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CompoundSelect, bindparam, literal_column, select, union_all
from sqlalchemy.orm import Session

from hub.models import Acknowledgement, ChannelMute, Membership

# Members' channels with their delivery override, and the channels they muted from outside
# (marked MUTED): one round trip for a batch of members.
MUTED = "muted"
_ACCESS: CompoundSelect[Any] = union_all(
    select(Membership.user_id, Membership.channel_id, Membership.delivery).where(
        Membership.user_id.in_(bindparam("user_ids", expanding=True))
    ),
    select(ChannelMute.user_id, ChannelMute.channel_id, literal_column(f"'{MUTED}'")).where(
        ChannelMute.user_id.in_(bindparam("user_ids", expanding=True))
    ),
)
Access = list[tuple[int, str | None]]


def read_access(session: Session, user_ids: list[int]) -> dict[int, Access]:
    """Each member's (channel id, delivery or MUTED) pairs, read now in ``session``'s
    transaction (a plain Core query after a flush: the job reads a batch at a time)."""
    session.flush()
    found: dict[int, Access] = {uid: [] for uid in user_ids}
    for uid, cid, delivery in session.connection().execute(_ACCESS, {"user_ids": user_ids}):
        found[uid].append((cid, delivery))
    return found


# Who acknowledged which version of the announcements a digest asks about: per batch.
_ACKS = select(
    Acknowledgement.user_id, Acknowledgement.announcement_id, Acknowledgement.version
).where(
    Acknowledgement.user_id.in_(bindparam("user_ids", expanding=True)),
    Acknowledgement.announcement_id.in_(bindparam("announcement_ids", expanding=True)),
)
Acks = set[tuple[int, int]]


def read_acks(session: Session, user_ids: list[int], announcement_ids: set[int]) -> dict[int, Acks]:
    """Each member's acknowledgements (announcement id, version) of these announcements, read
    in one statement of ``session``'s transaction (none when there are no announcements)."""
    found: dict[int, Acks] = {uid: set() for uid in user_ids}
    if announcement_ids and user_ids:
        session.flush()
        params = {"user_ids": user_ids, "announcement_ids": sorted(announcement_ids)}
        for uid, announcement_id, version in session.connection().execute(_ACKS, params):
            found[uid].add((announcement_id, version))
    return found
