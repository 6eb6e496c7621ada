"""The two lookup tables of a refusal (Reason -> SMTP reply text, Reason -> explanation mail),
and ``explain``, which queues that explanation mail."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from hub.db import utcnow
from hub.errors import Reason
from hub.i18n import N_
from hub.models import RefusalNotice
from mailbridge import outbound
from mailbridge.context import InboundContext
from mailbridge.parse import Incoming

TEMPFAIL = "451 4.3.0 Temporary failure, please try again later"
OK = "250 2.0.0 OK: message accepted"

# What the SMTP intake answers when it refuses in protocol (no mail is ever sent back then).
SMTP_REPLIES: dict[str, str] = {
    Reason.UNKNOWN_ADDRESS: "550 5.1.1 No such recipient here",
    Reason.BAD_TOKEN: "550 5.1.1 This reply address is not valid",
    Reason.NOT_FOUND: "550 5.1.1 No such recipient here",
    Reason.NO_RECIPIENTS: "452 4.5.3 Too many recipients",
    Reason.TOO_LARGE: "552 5.3.4 Message too big",
    Reason.UNKNOWN_SENDER: "550 5.7.1 Sender is not a member of this hub",
    Reason.TOKEN_SENDER_MISMATCH: "550 5.7.1 This reply address belongs to another member",
    Reason.INACTIVE_MEMBER: "550 5.7.1 Sender is not an active member of this hub",
}

# Refusals answered in protocol at DATA (strangers and forgeries: no backscatter by mail).
REFUSED_IN_PROTOCOL = frozenset(
    {Reason.UNKNOWN_SENDER, Reason.TOKEN_SENDER_MISMATCH, Reason.INACTIVE_MEMBER}
)

# Refusals that a known member hears about by mail: why it happened and how to fix it.
# The texts are msgids; templates/mail/rejected.* translate them in the member's language.
EXPLANATIONS: dict[str, tuple[str, str]] = {
    Reason.EMPTY_BODY: (
        N_("Your mail had no text we could post."),
        N_("Write your message above the quoted text and send it again."),
    ),
    Reason.EMPTY_TITLE: (
        N_("A new thread needs a subject."),
        N_("Send the mail again with a subject; it becomes the thread's title."),
    ),
    Reason.FORBIDDEN: (
        N_("You may not post in this channel."),
        N_("Ask a member of the channel or an admin to add you."),
    ),
    Reason.NOT_A_MEMBER: (
        N_("This channel is private and you are not a member of it."),
        N_("Ask a member of the channel or an admin to add you."),
    ),
    Reason.PRIVATE_CHANNEL: (
        N_("This channel is private and you are not a member of it."),
        N_("Ask a member of the channel or an admin to add you."),
    ),
    Reason.CHANNEL_ARCHIVED: (
        N_("This channel is archived and takes no new posts."),
        N_("Post in another channel, or ask an admin to reopen it."),
    ),
    Reason.NOT_FOUND: (
        N_("The thread you replied to is gone or no longer open to you."),
        N_("Start a new thread by writing to the channel's address."),
    ),
    Reason.TOO_LARGE: (
        N_("Your mail or one of its attachments is too large."),
        N_("Send smaller files, or share a link to them instead."),
    ),
    Reason.UNSUPPORTED_TYPE: (
        N_("One of your attachments is of a type the hub does not accept."),
        N_("Send it as PDF, an image, a text or an Office file, or share a link."),
    ),
    Reason.UNKNOWN_ADDRESS: (
        N_("We could not tell where your mail should go."),
        N_("Reply to a mail from the hub, or write to a channel's address."),
    ),
    Reason.NO_RECIPIENTS: (
        N_("Your thanks card named no colleague of the hub."),
        N_("Send it again with your colleagues' addresses in To or Cc."),
    ),
    Reason.UNKNOWN_VALUE: (
        N_("We could not tell which of our values you chose for your thanks card."),
        N_("Reply with the value's #tag or its name alone, as the mail you answered lists them."),
    ),
}
DEFAULT_EXPLANATION = (
    N_("Your mail could not be posted."),
    N_("Please try again, or ask an admin for help."),
)


def for_reason(reason: str) -> str:
    """Return the SMTP reply for a refusal in protocol (550 when the reason has no entry)."""
    return SMTP_REPLIES.get(reason, "550 5.7.1 Message refused")


def for_status(status: str, reason: str | None) -> str:
    """Return the SMTP answer to DATA for a message that was stored with this outcome."""
    if status == "rejected" and reason in REFUSED_IN_PROTOCOL:
        return for_reason(reason)
    return OK


def explains(reason: str | None) -> bool:
    """Tell whether a refusal for ``reason`` is explained to the member by mail."""
    return reason in EXPLANATIONS


def explanation(reason: str | None) -> tuple[str, str]:
    """Return (why, how to fix it) for ``reason``, as untranslated msgids."""
    return EXPLANATIONS.get(reason or "", DEFAULT_EXPLANATION)


def explain(
    ctx: InboundContext, reason: str, *, n: int = 0, incoming: Incoming | None = None
) -> None:
    """Send the member one mail saying why their mail was not posted, with their text quoted.

    At most one per address, reason and day (RefusalNotice); never to an auto-reply or a bounce.
    ``n`` numbers the refused destination of a mail sent to several of our addresses: the mail
    then names the address in its subject.
    """
    user, inc = ctx.sender, incoming or ctx.incoming
    if user is None or not user.active or inc.auto_reply or inc.bounce is not None:
        return
    day = utcnow().date().isoformat()
    try:
        with ctx.session.begin_nested():
            ctx.session.add(RefusalNotice(address=user.email, reason=reason, day=day))
    except IntegrityError:
        return
    why, fix = explanation(reason)
    mid = inc.message_id
    several = len(ctx.destinations) > 1 and ctx.rcpt
    outbound.queue_mail(
        ctx.app,
        ctx.session,
        kind="refusal",
        dedupe_key=f"refusal:{ctx.row.id}" + (f":{n}" if n else ""),
        to=user,
        template="rejected",
        context={
            "reason": reason,
            "why": why,
            "fix": fix,
            "subject": f"{inc.subject} ({ctx.rcpt})" if several else inc.subject,
            "original": (inc.text or "").strip(),
            "address": ctx.rcpt or "",
        },
        headers=_explanation_headers(ctx, mid),
    )


def _explanation_headers(ctx: InboundContext, mid: str | None) -> dict[str, str] | None:
    """Thread the explanation under the refused mail; when that mail went to a reply address
    (a token of the member's) or to thanks@, answering the explanation with the fixed text
    goes there too."""
    headers = {"In-Reply-To": f"<{mid}>", "References": f"<{mid}>"} if mid else {}
    dest = ctx.destination
    if ctx.rcpt and dest is not None and (dest.token is not None or dest.kind == "thanks"):
        headers["Reply-To"] = ctx.rcpt
    return headers or None
