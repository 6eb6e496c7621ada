"""Purpose announcements: publish to everyone or chosen channels, edit, find, and who each is
for; acknowledging one and reminding those who have not is ``acknowledgements``."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hub import permissions
from hub.db import utcnow
from hub.errors import Forbidden, Invalid, NotFound, Reason
from hub.models import Announcement, Channel, Membership, Post, Thread, User, Via
from hub.services import events
from hub.text import mention_handles

ANNOUNCE_SLUG = "announcements"
# The announcement channel's name and purpose, in the hub's default language when it is made
# (BABEL_DEFAULT_LOCALE): every member sees the name in subjects ("[お知らせ] 健康診断") and
# digests. Admins may rename it; an existing channel keeps what it has.
CHANNEL_TEXT = {
    "ja": ("お知らせ", "管理者からの目的やルールのお知らせと、それについての質問の場です。"),
    "en": ("Announcements", "Purpose announcements from the admins, and questions about them."),
}
MAX_TITLE = 300


# A title that already says it is urgent in brackets (【緊急】, [URGENT], （至急）, 【重要・緊急】):
# the mail's subject then carries no urgent label of ours as well. Brackets as NFKC leaves them
# (［］（）＜＞ become []()<>); a word in them is one of these, not part of one (【緊急連絡網】).
_OPENING, _CLOSING = "[(<{【〔「『《〈〖〘", "])>}】〕」』》〉〗〙"
_BRACKETED = re.compile(
    f"[{re.escape(_OPENING)}]([^{re.escape(_OPENING + _CLOSING)}]*)[{re.escape(_CLOSING)}]"
)
_URGENT_WORDS = frozenset({"緊急", "至急", "大至急", "urgent"})
_BETWEEN_WORDS = re.compile(r"[\s・/,、|!！:：]+")


def says_urgent(title: str) -> bool:
    """Tell whether ``title`` already says in brackets that it is urgent.

    >>> says_urgent("【緊急】本日の出社について"), says_urgent("[Urgent!] Server down")
    (True, True)
    >>> says_urgent("【重要・至急】回答のお願い"), says_urgent("【緊急連絡網】の更新")
    (True, False)
    """
    for found in _BRACKETED.finditer(unicodedata.normalize("NFKC", title)):
        if _URGENT_WORDS.intersection(_BETWEEN_WORDS.split(found.group(1).casefold())):
            return True
    return False


def get(session: Session, announcement_id: int) -> Announcement:
    """Return the announcement or raise NotFound."""
    found = session.get(Announcement, announcement_id)
    if found is None:
        raise NotFound(Reason.NOT_FOUND, f"announcement {announcement_id}")
    return found


def get_visible(session: Session, announcement_id: int, *, viewer: User) -> Announcement:
    """Return the announcement if ``viewer`` is in its audience (or an admin), else NotFound."""
    found = get(session, announcement_id)
    if not permissions.is_admin(viewer) and viewer.id not in {
        u.id for u in audience(session, found)
    }:
        raise NotFound(Reason.NOT_FOUND, f"announcement {announcement_id}")
    return found


def channel_ids(announcement: Announcement) -> list[int]:
    """The audience channel ids (empty means everyone)."""
    return [int(x) for x in announcement.audience.split(",") if x.strip()]


def _check_admin(actor: User | None) -> None:
    if actor is not None and not permissions.is_admin(actor):
        raise Forbidden(Reason.ADMIN_ONLY)


def announcement_channel(session: Session, locale: str = "ja") -> Channel:
    """The open channel that holds announcement threads, created on first use and then named
    in ``locale`` (the hub's default language; English when it has no text of its own)."""
    channel = session.scalar(select(Channel).where(Channel.slug == ANNOUNCE_SLUG))
    if channel is None:
        name, purpose = CHANNEL_TEXT.get(locale.split("_")[0].lower(), CHANNEL_TEXT["en"])
        channel = Channel(slug=ANNOUNCE_SLUG, name=name, purpose=purpose)
        session.add(channel)
        session.flush()
    return channel


def publish(
    session: Session,
    *,
    author: User | None,
    title: str,
    body: str,
    ack_required: bool,
    urgent: bool,
    channel_ids: list[int] | None = None,
    remind_every_days: int = 0,
    now: datetime | None = None,
    locale: str = "ja",
) -> Announcement:
    """Publish an announcement (admins only; ``author=None`` is the admin CLI). ``locale`` is
    the hub's default language, which names the announcement channel when it is made."""
    _check_admin(author)
    heading, text = _checked(title, body, remind_every_days)
    ids = sorted(set(channel_ids or []))
    when = now or utcnow()
    thread = _start_thread(session, _home(session, ids, locale), author, heading, text, when)
    announcement = Announcement(
        title=heading,
        body=text,
        author=author,
        ack_required=ack_required,
        urgent=urgent,
        audience=",".join(str(i) for i in ids),
        remind_every_days=remind_every_days,
        published_at=when,
        thread_id=thread.id,
    )
    session.add(announcement)
    session.flush()
    _emit(session, "announcement_published", announcement, author, urgent=urgent)
    return announcement


def _checked(title: str, body: str, remind_every_days: int) -> tuple[str, str]:
    """The title on one line (at most ``MAX_TITLE`` characters) and the text, both required.

    :raises Invalid: the title or the text is empty, or ``remind_every_days`` is negative.
    """
    heading = " ".join(title.split())
    text = body.replace("\r\n", "\n").strip()
    if not heading:
        raise Invalid(Reason.EMPTY_TITLE)
    if not text:
        raise Invalid(Reason.EMPTY_BODY)
    if remind_every_days < 0:
        raise Invalid(Reason.INVALID_VALUE, "remind_every_days")
    return heading[:MAX_TITLE], text


def _start_thread(
    session: Session, channel: Channel, author: User | None, title: str, text: str, when: datetime
) -> Thread:
    """The announcement's thread in ``channel``: its text as the first post, then the questions
    about it."""
    thread = Thread(channel=channel, title=title, author=author, created_at=when, last_post_at=when)
    session.add(thread)
    session.flush()
    session.add(Post(thread=thread, author=author, body=text, via=Via.WEB, created_at=when))
    return thread


def _home(session: Session, ids: list[int], locale: str) -> Channel:
    """The channel an announcement's thread (its text and the questions about it) lives in: the
    announcement channel, open to every member, unless the announcement is for a private
    channel's members: then that channel, so that only they read it, on its pages, in search,
    digests and mail alike. A thread lives in one channel, so such an announcement is for one
    channel's members (refused otherwise)."""
    chosen = []
    for cid in ids:
        found = session.get(Channel, cid)
        if found is None:
            raise NotFound(Reason.NOT_FOUND, f"channel {cid}")
        chosen.append(found)
    private = [c for c in chosen if c.private]
    if not private:
        return announcement_channel(session, locale)
    if len(chosen) > 1:
        raise Invalid(Reason.INVALID_VALUE, "private_audience")
    return private[0]


def audience(session: Session, announcement: Announcement) -> list[User]:
    """Every active member the announcement is for, ordered by id."""
    stmt = select(User).where(User.active.is_(True)).order_by(User.id)
    ids = channel_ids(announcement)
    if ids:
        joined = select(Membership.user_id).where(Membership.channel_id.in_(ids))
        stmt = stmt.where(User.id.in_(joined))
    return list(session.scalars(stmt))


def reaches(announcement: Announcement, joined: set[int]) -> bool:
    """Tell whether the announcement is for a member of the channels ``joined`` (``audience``
    for one member whose channels are known, without a query)."""
    ids = channel_ids(announcement)
    return not ids or bool(joined.intersection(ids))


def asks(announcement: Announcement, user_id: int) -> bool:
    """Tell whether a member of its audience is asked to acknowledge it: all but the admin who
    published it, who wrote what the others acknowledge (they still get it)."""
    return user_id != announcement.author_id


def asked(session: Session, announcement: Announcement) -> list[User]:
    """The audience asked to acknowledge (``asks``): counted in "N of M", reminded, shown the
    banner."""
    return [u for u in audience(session, announcement) if asks(announcement, u.id)]


def named(session: Session, texts: Iterable[str]) -> list[tuple[str, str]]:
    """The (email, name) of the active members the @handles in ``texts`` name by their address
    or its local part (``@sato``; one two members share names neither, as in a post), for
    mail to show them as names (``hub.text.show_names``). One query for all the texts. An
    announcement records no mentions (everyone gets it): its handles are read here."""
    handles = {h for text in texts for h in mention_handles(text)}
    if not handles:
        return []
    full = {h for h in handles if "@" in h}
    local = handles - full
    wanted = [User.email.startswith(f"{h}@", autoescape=True) for h in sorted(local)]
    if full:
        wanted.append(func.lower(User.email).in_(sorted(full)))
    found = session.execute(
        select(User.email, User.name).where(User.active.is_(True), or_(*wanted))
    ).all()
    shared = Counter(email.split("@")[0].lower() for email, _ in found)

    def names(email: str) -> bool:
        part = email.split("@")[0].lower()
        return email.lower() in full or (part in local and shared[part] == 1)

    return [(email, name) for email, name in found if names(email)]


def edit(
    session: Session,
    *,
    announcement: Announcement,
    actor: User | None,
    title: str | None = None,
    body: str | None = None,
    require_again: bool = False,
    remind_every_days: int | None = None,
) -> Announcement:
    """Change an announcement; ``require_again`` asks everyone to acknowledge the new version.

    Otherwise a changed title or text is written into its mail still waiting to leave (the
    ``announcement_edited`` event): the members get it as it reads now."""
    _check_admin(actor)
    before = (announcement.title, announcement.body)
    if title is not None and " ".join(title.split()):
        announcement.title = " ".join(title.split())[:MAX_TITLE]
    if body is not None:
        text = body.replace("\r\n", "\n").strip()
        if not text:
            raise Invalid(Reason.EMPTY_BODY)
        announcement.body = text
        thread = session.get(Thread, announcement.thread_id) if announcement.thread_id else None
        if thread is not None and thread.posts:
            thread.posts[0].body = text
    if remind_every_days is not None:
        announcement.remind_every_days = max(0, remind_every_days)
    if require_again:
        announcement.version += 1
        announcement.ack_required = True
        announcement.last_reminded_at = None
        session.flush()
        _emit(session, "announcement_published", announcement, actor, urgent=announcement.urgent,
              again=True)  # fmt: skip
    elif (announcement.title, announcement.body) != before:
        _emit(session, "announcement_edited", announcement, actor)
    return announcement


def _emit(
    session: Session, kind: str, announcement: Announcement, actor: User | None, **data: Any
) -> None:
    """Record ``kind`` about this version of ``announcement`` for the mail bridge."""
    events.emit(
        session,
        kind,
        actor_id=actor.id if actor else None,
        thread_id=announcement.thread_id,
        subject_id=announcement.id,
        version=announcement.version,
        **data,
    )


def list_announcements(session: Session) -> list[Announcement]:
    """Every announcement, newest first."""
    return list(session.scalars(select(Announcement).order_by(Announcement.id.desc())))
