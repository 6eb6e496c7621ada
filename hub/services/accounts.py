"""Members: create, find, import, change role, deactivate, preferences, passwords (sign-in links:
hub.services.login_links; working days, hours and time zones as written: working_time)."""

from __future__ import annotations

import re
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hub.errors import Forbidden, Invalid, NotFound, Reason
from hub.models import Delivery, EmailAlias, LoginLink, Role, User
from hub.services import events
from hub.services.working_time import (
    check_timezone,
    format_working_hours,
    parse_working_days,
    parse_working_hours,
)

EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
LOCALES = ("ja", "en")
_hasher = PasswordHasher()


def normalize_email(address: str) -> str:
    """Return ``address`` stripped and lower-cased, or raise Invalid."""
    email = address.strip().lower()
    if not EMAIL.match(email):
        raise Invalid(Reason.INVALID_EMAIL, address)
    return email


def find_user_by_email(session: Session, address: str) -> User | None:
    """Return the member whose address or verified alias is ``address`` (any case), else None."""
    email = address.strip().lower()
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = session.scalar(
            select(User)
            .join(EmailAlias)
            .where(EmailAlias.email == email, EmailAlias.verified.is_(True))
        )
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(Reason.NOT_FOUND, f"member {user_id}")
    return user


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    email_only: bool = False,
    admin: bool = False,
    locale: str = "ja",
    timezone: str | None = None,
    working_days: str | None = None,
    working_hours: str | None = None,
    password: str | None = None,
    actor: User | None = None,
    invite: bool = True,
) -> User:
    """Add a member; addresses are unique whatever their case.

    ``invite=False`` adds them without a word: the member_added event says so, and an
    email-only member gets no welcome mail (hub.services.onboarding invites them later).
    """
    address = normalize_email(email)
    if find_user_by_email(session, address) is not None:
        raise Invalid(Reason.DUPLICATE_EMAIL, address)
    if not name.strip():
        raise Invalid(Reason.INVALID_VALUE, "name")
    if locale not in LOCALES:
        raise Invalid(Reason.INVALID_VALUE, f"locale: {locale}")
    user = User(
        email=address,
        name=name.strip(),
        email_only=email_only,
        role=Role.ADMIN if admin else Role.MEMBER,
        locale=locale,
    )
    if timezone:
        user.timezone = check_timezone(timezone)
    if working_days:
        user.working_days = parse_working_days(working_days)
    if working_hours:
        user.work_start, user.work_end = parse_working_hours(working_hours)
    if password:
        user.password_hash = _hasher.hash(password)
    session.add(user)
    session.flush()
    quiet = {} if invite else {"invite": False}
    events.emit(session, "member_added", actor_id=actor.id if actor else None, subject_id=user.id,
                **quiet)  # fmt: skip
    return user


def list_users(session: Session, *, include_inactive: bool = True) -> list[User]:
    stmt = select(User).order_by(User.id)
    if not include_inactive:
        stmt = stmt.where(User.active.is_(True))
    return list(session.scalars(stmt))


def user_as_dict(user: User) -> dict[str, Any]:
    """The member as the CLI's --json shows it."""
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": str(user.role),
        "email_only": user.email_only,
        "locale": user.locale,
        "timezone": user.timezone,
        "working_days": user.working_days,
        "working_hours": format_working_hours(user.work_start, user.work_end),
        "delivery": str(effective_delivery(user)),
        "active": user.active,
        "bouncing": user.bouncing,
    }


def effective_delivery(user: User) -> Delivery:
    """The member's own delivery mode, or the default for their kind of member."""
    if user.delivery:
        return Delivery(user.delivery)
    return Delivery.DAILY if user.email_only else Delivery.MENTIONS


def require_admin(actor: User | None) -> None:
    if actor is not None and not (actor.active and actor.is_admin):
        raise Forbidden(Reason.ADMIN_ONLY)


def set_role(session: Session, user: User, role: str, *, actor: User | None = None) -> User:
    require_admin(actor)
    if role not in (Role.MEMBER, Role.ADMIN):
        raise Invalid(Reason.INVALID_VALUE, f"role: {role}")
    user.role = Role(role)
    return user


def deactivate(session: Session, user: User, *, actor: User | None = None) -> User:
    """Stop a member: no sign-in, no posting, no mail, by any door."""
    require_admin(actor)
    user.active = False
    # Its sessions stay ended should the member come back (reactivate): they sign in anew.
    user.session_version = (user.session_version or 0) + 1
    session.execute(
        delete(LoginLink).where(LoginLink.user_id == user.id, LoginLink.used_at.is_(None))
    )
    events.emit(
        session, "member_deactivated", actor_id=actor.id if actor else None, subject_id=user.id
    )
    return user


def reactivate(session: Session, user: User, *, actor: User | None = None) -> User:
    require_admin(actor)
    user.active = True
    return user


def set_password(user: User, password: str) -> None:
    """Set a new password and end the member's sign-ins everywhere (the web view keeps the
    browser that changed it signed in)."""
    if len(password) < 8:
        raise Invalid(Reason.INVALID_VALUE, "password: at least 8 characters")
    user.password_hash = _hasher.hash(password)
    user.session_version = (user.session_version or 0) + 1


def check_password(user: User, password: str) -> bool:
    """Verify ``password``; upgrade the stored hash when the parameters have changed."""
    if not user.active or not user.password_hash:
        return False
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def update_preferences(session: Session, user: User, **changes: Any) -> User:
    """Change a member's mail and time preferences (web form, mail command or signed link)."""
    if "delivery" in changes:
        value = changes["delivery"]
        user.delivery = Delivery(value) if value else None
    if "locale" in changes:
        if changes["locale"] not in LOCALES:
            raise Invalid(Reason.INVALID_VALUE, "locale")
        user.locale = changes["locale"]
    if "timezone" in changes:
        user.timezone = check_timezone(changes["timezone"])
    if "working_days" in changes:
        user.working_days = parse_working_days(changes["working_days"])
    if "working_hours" in changes:
        user.work_start, user.work_end = parse_working_hours(changes["working_hours"])
    if "digest_hour" in changes:
        hour = int(changes["digest_hour"])
        if not 0 <= hour <= 23:
            raise Invalid(Reason.INVALID_VALUE, "digest hour")
        user.digest_hour = hour
    if "digest_weekday" in changes:
        day = int(changes["digest_weekday"])
        if not 0 <= day <= 6:
            raise Invalid(Reason.INVALID_VALUE, "digest weekday")
        user.digest_weekday = day
    if "echo_own_posts" in changes:
        user.echo_own_posts = bool(changes["echo_own_posts"])
    if "name" in changes and str(changes["name"]).strip():
        user.name = str(changes["name"]).strip()
    return user


def active_admins(session: Session) -> list[User]:
    """The active admins, first ones first (those who are told, and named to ask)."""
    stmt = select(User).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)
    return list(session.scalars(stmt))


def count_admins(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active)
        )
        or 0
    )


def set_email_only(session: Session, user: User, email_only: bool, *, actor: User | None) -> User:
    """Switch a member between taking part by mail only and using the web pages too."""
    require_admin(actor)
    user.email_only = email_only
    return user
