"""Thanks cards tied to the company's values: send, choose a value later, feed, counts."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from hub import permissions
from hub.db import utcnow
from hub.errors import Forbidden, Invalid, NotFound, Reason
from hub.models import CompanyValue, Thanks, ThanksRecipient, User, Via
from hub.services import events

MAX_MESSAGE = 5000
# "#teamwork"; a Japanese input method types the sign full-width ("＃お客様第一").
TAG = re.compile(r"[#＃]([\w\-]{1,50})")


def list_values(session: Session) -> list[CompanyValue]:
    """The company's values, by name."""
    return list(session.scalars(select(CompanyValue).order_by(CompanyValue.id)))


def find_value(session: Session, tag: str) -> CompanyValue | None:
    """The value whose tag is ``tag`` (without '#', any case or width), else None."""
    clean = unicodedata.normalize("NFKC", tag).strip().lstrip("#").lower()
    return session.scalar(select(CompanyValue).where(func.lower(CompanyValue.tag) == clean))


def value_in_text(session: Session, text: str) -> CompanyValue | None:
    """The first ``#tag`` in ``text`` that names one of the values.

    Japanese runs the tag into the sentence ("#お客様第一を大切に"): a value whose tag begins
    the word counts when the word goes on in other than ASCII letters or digits (the longest
    such tag wins), so "#teamworking" still names no "teamwork".
    """
    values: list[tuple[str, CompanyValue]] | None = None
    for match in TAG.finditer(text):
        found = find_value(session, match.group(1))
        if found is not None:
            return found
        if values is None:
            values = sorted(
                ((unicodedata.normalize("NFKC", v.tag).lower(), v) for v in list_values(session)),
                key=lambda tv: -len(tv[0]),
            )
        word = unicodedata.normalize("NFKC", match.group(1)).lower()
        for tag, value in values:
            rest = word[len(tag) :]
            if tag and word.startswith(tag) and not (rest[:1].isascii() and rest[:1].isalnum()):
                return value
    return None


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


def value_named(session: Session, text: str) -> CompanyValue | None:
    """The value an answer to "which value?" names: a ``#tag`` anywhere, else the tag or the
    name (any case or width) that begins the first line, alone or followed by other than ASCII
    letters or digits ("チームワークです", "teamwork!"; "teamworking" names no "teamwork")."""
    found = value_in_text(session, text)
    if found is not None:
        return found
    first = next((line for line in text.splitlines() if line.strip()), "")
    line = _fold(first).strip("\"'「」『』")
    keys = [
        (key, value)
        for value in list_values(session)
        for key in {_fold(value.tag), _fold(value.name)}
        if key
    ]
    for key, value in sorted(keys, key=lambda kv: -len(kv[0])):
        rest = line[len(key) :]
        if line.startswith(key) and not (rest[:1].isascii() and rest[:1].isalnum()):
            return value
    return None


def save_value(
    session: Session,
    *,
    actor: User | None,
    tag: str,
    name: str,
    description: str = "",
    value: CompanyValue | None = None,
) -> CompanyValue:
    """Create (or, given ``value``, change) one of the company's values (admins only)."""
    if actor is not None and not permissions.is_admin(actor):
        raise Forbidden(Reason.ADMIN_ONLY)
    clean = tag.strip().lstrip("#").lower()
    if not clean or not TAG.fullmatch("#" + clean):
        raise Invalid(Reason.INVALID_VALUE, "tag")
    if not name.strip():
        raise Invalid(Reason.INVALID_VALUE, "name")
    other = find_value(session, clean)
    if other is not None and other is not value:
        raise Invalid(Reason.INVALID_VALUE, f"duplicate tag: {clean}")
    if value is None:
        value = CompanyValue(tag=clean, name=name.strip(), description=description.strip())
        session.add(value)
    else:
        value.tag, value.name, value.description = clean, name.strip(), description.strip()
    session.flush()
    return value


def delete_value(session: Session, *, actor: User | None, value: CompanyValue) -> None:
    """Remove a value; cards that carried it keep their message."""
    if actor is not None and not permissions.is_admin(actor):
        raise Forbidden(Reason.ADMIN_ONLY)
    session.delete(value)


def send(
    session: Session,
    *,
    sender: User,
    recipients: list[User],
    message: str,
    value: CompanyValue | None = None,
    via: Via = Via.WEB,
    now: datetime | None = None,
) -> Thanks:
    """Thank one or more colleagues (event ``thanks_sent`` tells them)."""
    if not sender.active:
        raise Forbidden(Reason.INACTIVE_MEMBER)
    text = message.replace("\r\n", "\n").strip()
    if not text:
        raise Invalid(Reason.EMPTY_BODY)
    if len(text) > MAX_MESSAGE:
        raise Invalid(Reason.TOO_LARGE)
    unique: dict[int, User] = {}
    for user in recipients:
        if user.active and user.id != sender.id:
            unique[user.id] = user
    if not unique:
        raise Invalid(Reason.NO_RECIPIENTS)
    card = Thanks(
        sender=sender, message=text, value=value, via=Via(via), created_at=now or utcnow()
    )
    card.recipients = [ThanksRecipient(user=u) for u in unique.values()]
    session.add(card)
    session.flush()
    events.emit(
        session,
        "thanks_sent",
        actor_id=sender.id,
        subject_id=card.id,
        recipient_ids=list(unique),
        needs_value=value is None,
    )
    return card


def get(session: Session, thanks_id: int) -> Thanks:
    card = session.get(Thanks, thanks_id)
    if card is None:
        raise NotFound(Reason.NOT_FOUND, f"thanks {thanks_id}")
    return card


def set_value(session: Session, *, user: User, thanks: Thanks, value: CompanyValue) -> Thanks:
    """The sender chooses the card's value later (from the web or a signed mail link)."""
    if thanks.sender_id != user.id:
        raise Forbidden(Reason.NOT_AUTHOR)
    thanks.value = value
    return thanks


def feed(session: Session, *, limit: int = 50, user: User | None = None) -> list[Thanks]:
    """Newest cards first; with ``user``, only cards sent to or by that member."""
    stmt = select(Thanks).options(selectinload(Thanks.recipients)).order_by(Thanks.id.desc())
    if user is not None:
        got = select(ThanksRecipient.thanks_id).where(ThanksRecipient.user_id == user.id)
        stmt = stmt.where((Thanks.id.in_(got)) | (Thanks.sender_id == user.id))
    return list(session.scalars(stmt.limit(limit)))


def received_by(session: Session, user: User) -> list[Thanks]:
    """Cards ``user`` received, newest first (the profile)."""
    got = select(ThanksRecipient.thanks_id).where(ThanksRecipient.user_id == user.id)
    return list(
        session.scalars(select(Thanks).where(Thanks.id.in_(got)).order_by(Thanks.id.desc()))
    )


def counts_per_value(
    session: Session, *, since: datetime | None = None, until: datetime | None = None
) -> list[tuple[str, int]]:
    """(value name, number of cards) for every value, plus '-' for cards without one."""
    stmt = select(Thanks.value_id, func.count(Thanks.id)).group_by(Thanks.value_id)
    if since is not None:
        stmt = stmt.where(Thanks.created_at >= since)
    if until is not None:
        stmt = stmt.where(Thanks.created_at < until)
    counts = dict(session.execute(stmt).all())
    out = [(v.name, int(counts.get(v.id, 0))) for v in list_values(session)]
    if counts.get(None):
        out.append(("-", int(counts[None])))
    return out
