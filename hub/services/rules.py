"""The admin-edited usage-rules page and each member's acceptance of it.

The rules have a version (a counter in the ``rules_version`` setting, 1 until an admin first asks
everyone to accept them again), and each member's row says which version they last accepted:
a member has accepted the current rules while that is the current version. Saving the rules
keeps the version (a typo fix bothers nobody) unless the admin asks everyone again, which
counts it up and emits ``rules_updated`` (email-only members are mailed; web members are sent
to the rules page on their next visit). The text a version had when a newer one replaced it is
kept, so a member asked again is shown what changed since the version they accepted
(``changes_since``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from hub import permissions
from hub.db import utcnow
from hub.errors import Forbidden, Reason
from hub.models import Setting, User, Via
from hub.plaintext import markdown_text
from hub.services import events

KEY = "rules_markdown"
VERSION_KEY = "rules_version"
# The admin's text of version N as it read when version N+1 replaced it: "rules_markdown@N".
OLD_TEXT_KEY = "rules_markdown@"
# Until an admin writes the rules, every member reads this text in the hub's default language
# (one text for all: the rules are the company's, not a translation per reader).
DEFAULT_RULES = {
    "ja": """# 広場のルール

- オープンに共有しましょう：誰もが見つけて学べるよう、公開チャンネルに投稿します。
- 話題は、目的の合うチャンネルに投稿しましょう。
- 思いやりを持ちましょう：批判するのは意見であって、人ではありません。
  誰かを傷つける投稿は「報告する」で管理者に知らせてください。
""",
    "en": """# Rules of the square

- Share openly: post in open channels so everyone can find and learn.
- Put each topic in the channel whose purpose fits it.
- Be kind: criticise ideas, never people. Flag a post that hurts someone.
""",
}


def default_rules(locale: str) -> str:
    """The default rules text in ``locale`` (the hub's default language), else in Japanese."""
    return DEFAULT_RULES.get(locale.split("_")[0].split("-")[0], DEFAULT_RULES["ja"])


def get_rules(session: Session, locale: str = "ja") -> str:
    """The rules page as Markdown: the admin's text, or until there is one the default text in
    ``locale``, the hub's default language (BABEL_DEFAULT_LOCALE)."""
    row = session.get(Setting, KEY)
    return row.value if row is not None and row.value.strip() else default_rules(locale)


def current_version(session: Session) -> int:
    """The version of the rules members must have accepted (1 until anyone is asked again)."""
    row = session.get(Setting, VERSION_KEY)
    return int(row.value) if row is not None and row.value.isdigit() else 1


def has_accepted(user: User, version: int) -> bool:
    """Tell whether ``user`` has accepted ``version`` of the rules (or a later one)."""
    return user.rules_accepted_at is not None and user.rules_version >= version


def must_accept(session: Session, user: User) -> bool:
    """Tell whether ``user`` is asked to accept the rules before anything else (on the web).

    A member who never accepted any is asked on their first visit, the default rules too (the
    text every member reads until an admin writes their own): the welcome mail asks email-only
    members to accept them from the start, so web members are asked the same.
    """
    return not has_accepted(user, current_version(session))


def set_rules(
    session: Session, *, actor: User | None, markdown: str, via: Via = Via.WEB,
    ask_again: bool = False,
) -> int:  # fmt: skip
    """Replace the rules page (admins only; actor None is the admin CLI); return its version.

    ``ask_again`` makes it a new version that every member must accept again. The admin who
    publishes the rules has accepted them (so they are not sent to accept their own text
    before they may edit it again); every other member accepts as before.
    """
    if actor is not None and not permissions.is_admin(actor):
        raise Forbidden(Reason.ADMIN_ONLY)
    version = current_version(session)
    before = session.get(Setting, KEY)
    if ask_again and before is not None and before.value.strip():
        _put(session, f"{OLD_TEXT_KEY}{version}", before.value)
    _put(session, KEY, markdown.strip())
    if ask_again:
        version += 1
        _put(session, VERSION_KEY, str(version))
        events.emit(session, "rules_updated", actor_id=actor.id if actor else None,
                    version=version)  # fmt: skip
    if actor is not None:
        accept_rules(session, actor, via, version=version)
    return version


@dataclass(frozen=True, slots=True)
class Change:
    """Lines of the rules taken out and the lines put in their place (either may be empty)."""

    removed: tuple[str, ...]
    added: tuple[str, ...]


def changes_since(session: Session, version: int) -> list[Change] | None:
    """What changed in the rules' text since ``version`` (as it read when a newer version
    replaced it), in the order of the text, line by line as the rules read (Markdown written
    out as text); None when that text is not known (the default rules, or a version older than
    this record) or nothing changed in it."""
    if version >= current_version(session):
        return None
    old = session.get(Setting, f"{OLD_TEXT_KEY}{version}")
    new = session.get(Setting, KEY)
    if old is None or new is None:
        return None
    before, after = _lines(old.value), _lines(new.value)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    changes = [
        Change(tuple(before[i1:i2]), tuple(after[j1:j2]))
        for op, i1, i2, j1, j2 in matcher.get_opcodes()
        if op != "equal"
    ]
    return changes or None


def _lines(markdown: str) -> list[str]:
    return [line.rstrip() for line in markdown_text(markdown).splitlines() if line.strip()]


def _put(session: Session, key: str, value: str) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value


def accept_rules(
    session: Session, user: User, via: Via, *, version: int | None = None,
    now: datetime | None = None,
) -> bool:  # fmt: skip
    """Record that ``user`` accepted ``version`` of the rules (the current one if None); False
    if they already had.

    A version older than the current one (a form or mail from before the admin asked again)
    is recorded as what it is: the member is still asked to accept the current rules.
    """
    current = current_version(session)
    wanted = current if version is None else min(version, current)
    if has_accepted(user, wanted):
        return False
    user.rules_accepted_at = now or utcnow()
    user.rules_version = wanted
    events.emit(
        session, "rules_accepted", actor_id=user.id, subject_id=user.id, via=str(via),
        version=wanted,
    )  # fmt: skip
    return True


@dataclass(frozen=True, slots=True)
class Overview:
    """Where the rules stand, for the admin: when changed, who has accepted this version."""

    version: int
    # When the text was last saved, and when everyone was last asked to accept it (None: never).
    changed_at: datetime | None
    asked_at: datetime | None
    accepted: int
    pending: list[User]


def overview(session: Session) -> Overview:
    """The rules' version and dates, how many active members accepted it, and who has not."""
    version = current_version(session)
    text, asked = session.get(Setting, KEY), session.get(Setting, VERSION_KEY)
    done = select(func.count()).select_from(User).where(User.active.is_(True))
    return Overview(
        version=version, changed_at=text.updated_at if text else None,
        asked_at=asked.updated_at if asked else None,
        accepted=session.scalar(done.where(_accepted(version))) or 0,
        pending=sorted(not_accepted(session, version), key=lambda u: (u.name, u.id)),
    )  # fmt: skip


def not_accepted(session: Session, version: int) -> list[User]:
    """Active members who have not accepted ``version`` of the rules, by id."""
    stmt = select(User).where(User.active.is_(True), ~_accepted(version))
    return list(session.scalars(stmt.order_by(User.id)))


def _accepted(version: int) -> ColumnElement[bool]:
    """``has_accepted`` in SQL."""
    return and_(User.rules_accepted_at.is_not(None), User.rules_version >= version)
