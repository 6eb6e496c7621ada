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


def set_rules(session: Session, *, actor: User | None, markdown: str, via: Via = Via.WEB) -> None:
    """Replace the rules page (admins only; actor None is the admin CLI).

    The admin who publishes the rules has accepted them (so they are not sent to accept their
    own text before they may edit it again); every other member accepts as before.
    """
    if actor is not None and not permissions.is_admin(actor):
        raise Forbidden(Reason.ADMIN_ONLY)
    row = session.get(Setting, KEY)
    if row is None:
        session.add(Setting(key=KEY, value=markdown.strip()))
    else:
        row.value = markdown.strip()
    if actor is not None:
        accept_rules(session, actor, via)


def accept_rules(session: Session, user: User, via: Via, *, now: datetime | None = None) -> bool:
    """Record that ``user`` accepted the rules; False if they already had."""
    if user.rules_accepted_at is not None:
        return False
    user.rules_accepted_at = now or utcnow()
    events.emit(session, "rules_accepted", actor_id=user.id, subject_id=user.id, via=str(via))
    return True
