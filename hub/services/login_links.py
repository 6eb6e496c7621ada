"""Sign-in links: a single-use token made for a member (only its hash is stored), found, checked,
renewed (a fresh one, to the member's own address) and spent."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db import utcnow
from hub.errors import Forbidden, Invalid, Reason
from hub.models import LoginLink, User


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_login_link(session: Session, user: User, *, minutes: int = 15) -> str:
    """Make a single-use sign-in token for ``user``; only its hash is stored."""
    if not user.active:
        raise Forbidden(Reason.INACTIVE_MEMBER)
    token = secrets.token_urlsafe(32)
    session.add(
        LoginLink(
            user_id=user.id,
            token_hash=_hash_token(token),
            expires_at=utcnow() + timedelta(minutes=minutes),
        )
    )
    session.flush()
    return token


def find_login_link(session: Session, token: str) -> LoginLink | None:
    """The sign-in link ``token`` was made for (expired and used ones too), else None."""
    return session.scalar(select(LoginLink).where(LoginLink.token_hash == _hash_token(token)))


def link_works(link: LoginLink | None) -> bool:
    """Tell whether ``link`` still signs its member in: not used, not expired, member active."""
    return (
        link is not None
        and link.used_at is None
        and link.expires_at >= utcnow()
        and link.user.active
    )


def renew_login_link(session: Session, token: str, *, minutes: int) -> tuple[User, str] | None:
    """A fresh sign-in token for the member an earlier link (expired, used or not) was made
    for, with that member; None for an unknown token or a deactivated member. The fresh link
    goes to the member's own address, so whoever holds the old one learns nothing new."""
    link = find_login_link(session, token)
    if link is None or not link.user.active:
        return None
    return link.user, create_login_link(session, link.user, minutes=minutes)


def use_login_link(session: Session, token: str) -> User:
    """Spend a sign-in token and return its member; expired, used or unknown tokens fail."""
    link = find_login_link(session, token)
    now = utcnow()
    if link is None or link.used_at is not None or link.expires_at < now:
        raise Invalid(Reason.BAD_TOKEN)
    if not link.user.active:
        raise Forbidden(Reason.INACTIVE_MEMBER)
    link.used_at = now
    return link.user
