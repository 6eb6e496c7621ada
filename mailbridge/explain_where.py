"""What an explanation of a refused mail names, as the member knows it: where the mail went (a
thread's title and its channel, not the reply+token address they never read) and who can help
(the hub's admins, by name and address, where the fix is "ask an admin")."""

from __future__ import annotations

from typing import Any

from hub.errors import HubError, Reason
from hub.services import accounts, channels, threads
from mailbridge.context import InboundContext

# Refusals whose fix is to ask someone: the explanation names the admins.
ASK_AN_ADMIN = frozenset(
    {Reason.FORBIDDEN, Reason.NOT_A_MEMBER, Reason.PRIVATE_CHANNEL, Reason.CHANNEL_ARCHIVED}
)
# The admins named (the first ones, so an explanation stays short).
NAMED_ADMINS = 3


def where(ctx: InboundContext) -> dict[str, Any]:
    """Where the refused mail went: {"thread", "channel"} for a reply to a thread the member
    may read, {"channel"} for a channel they may read, {"digest"} for a reply to their digest,
    and always {"address"}. Nothing of a thread or channel closed to them is named."""
    found: dict[str, Any] = {"address": ctx.rcpt or ""}
    dest, user = ctx.destination, ctx.sender
    if dest is None or user is None:
        return found
    try:
        if dest.kind == "reply" and dest.token is not None:
            thread = threads.get_visible_thread(ctx.session, dest.token.target_id, viewer=user)
            found.update(thread=thread.title, channel=thread.channel.name)
        elif dest.kind == "digest":
            found.update(digest=True)
        elif dest.kind == "channel" and dest.slug:
            channel = channels.get_visible_channel(ctx.session, dest.slug, viewer=user)
            found.update(channel=channel.name)
    except HubError:
        pass  # gone or closed to the member: only the address they wrote to
    return found


def admins(ctx: InboundContext, reason: str) -> list[tuple[str, str]]:
    """(name, address) of the admins to ask, when the refusal's fix is to ask one."""
    if reason not in ASK_AN_ADMIN:
        return []
    return [(a.name, a.email) for a in accounts.active_admins(ctx.session)[:NAMED_ADMINS]]
