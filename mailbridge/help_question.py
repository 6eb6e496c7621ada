"""A question written to help@ in words (no command in it): help@ answers automatically, so the
question also goes to the hub's admins, who answer the member directly (Reply-To is the member),
and the member's how-to says so and names them. Without this, "週に一回だけにするには？" got
the generic how-to and nobody ever read the question."""

from __future__ import annotations

from typing import Any

from hub.models import User
from hub.services import accounts
from mailbridge import outbound
from mailbridge.context import InboundContext


def pass_on(ctx: InboundContext) -> list[User]:
    """Send the member's question to every admin (one mail each, once); return the admins,
    none when the member is an admin themself (asking the other admins is then plain mail)."""
    member = ctx.sender
    assert member is not None
    found = [a for a in accounts.active_admins(ctx.session) if a.id != member.id]
    if not found or member.is_admin:
        return []
    context: dict[str, Any] = {
        "member": member,
        "subject": ctx.incoming.clean_subject,
        "question": (ctx.row.text or "").strip(),
    }
    for admin in found:
        outbound.queue_mail(
            ctx.app,
            ctx.session,
            kind="help_question",
            dedupe_key=f"help_question:{ctx.row.id}",
            to=admin,
            template="help_question",
            context=context,
            headers={"Reply-To": member.email},
        )
    return found
