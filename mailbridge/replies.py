"""The two lookup tables of a refusal (Reason -> SMTP reply text, Reason -> explanation mail),
and ``explain``, which queues that explanation mail."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from hub.db import utcnow
from hub.errors import Reason
from hub.i18n import N_
from hub.models import RefusalNotice
from mailbridge import addresses, explain_where, outbound
from mailbridge.context import InboundContext
from mailbridge.explanation_answers import (
    answers_explanation,
    original_subject,
    unwrap_explanation,
)
from mailbridge.parse import Incoming, strip_subject_prefixes

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
        N_(
            "Reply to this mail and type the thread's title into the subject line, in place "
            "of this mail's subject; your text below is posted under that title."
        ),
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
        N_(
            "Start a new thread by writing to the address of a channel you belong to (a mail "
            "to help@ lists them), or ask an admin."
        ),
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
# Refusals of a new thread that the same mail, mended, mends (its text, subject or files): the
# explanation's Reply-To is the channel, so answering it with the fixed mail opens the thread.
# Any other refusal of a channel's mail (not allowed, archived, gone) would only be refused
# again there, and that second refusal is not explained (one per address, reason and day):
# those explanations are answered at help@, whose how-to lists where the member may write.
MENDED_BY_RESENDING = frozenset(
    {Reason.EMPTY_BODY, Reason.EMPTY_TITLE, Reason.TOO_LARGE, Reason.UNSUPPORTED_TYPE}
)
# Refusals no resending can mend, wherever the mail went: the thread is gone or no longer open
# to the member, the channel is private, archived or closed to them. Answered at the reply
# address (or thanks@) they would be refused again, then not explained (one per address,
# reason and day): silence. Those explanations are answered at help@, as a channel's are.
NOT_MENDED_BY_RESENDING = frozenset(
    {
        Reason.NOT_FOUND,
        Reason.FORBIDDEN,
        Reason.NOT_A_MEMBER,
        Reason.PRIVATE_CHANNEL,
        Reason.CHANNEL_ARCHIVED,
        Reason.POST_DELETED,
        Reason.ADMIN_ONLY,
        Reason.NOT_PERMITTED_BY_POLICY,
    }
)
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
    # An answer to one of our explanations that is refused in turn is explained once more that
    # day, whatever was explained before (the answer would otherwise end in silence); still
    # bounded, so a machine answering every explanation makes no loop.
    key = f"{reason}:answer" if answers_explanation(ctx, inc) else reason
    try:
        with ctx.session.begin_nested():
            ctx.session.add(RefusalNotice(address=user.email, reason=key, day=day))
    except IntegrityError:
        return
    why, fix = explanation(reason)
    mid = inc.message_id
    several = len(ctx.destinations) > 1 and ctx.rcpt
    # "Not posted: 予算", never "Not posted: Re: Not posted: 予算" for a refused answer.
    subject = inc.subject
    if unwrap_explanation(ctx.app, strip_subject_prefixes(subject)) is not None:
        subject = original_subject(ctx.app, subject)
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
            "subject": f"{subject} ({ctx.rcpt})" if several else subject,
            "original": unquoted(inc.text)
            if reason == Reason.EMPTY_BODY
            else (inc.text or "").strip(),
            "files": [a.filename or "attachment" for a in inc.attachments],
            "where": explain_where.where(ctx),
            "admins": explain_where.admins(ctx, reason),
        },
        headers=_explanation_headers(ctx, reason, mid),
    )


def unquoted(text: str | None) -> str:
    """What an empty reply may hold of the member's own: its text without the ``>`` quoted lines
    and the attribution line right above them ("On ... wrote:", "2026年11月27日(金) ... :").
    Sending our own quoted mail back (a digest, a notification with its signed links) would
    only be noise; a copy quoted without marks (Outlook) cannot be told from the member's words
    and is kept, so nothing of theirs is lost."""
    lines = (text or "").splitlines()
    quoted = [ln.lstrip().startswith(">") for ln in lines]
    kept = [
        ln
        for k, ln in enumerate(lines)
        if not quoted[k] and not (ln.rstrip().endswith((":", "：")) and any(quoted[k + 1 : k + 3]))
    ]
    return "\n".join(kept).strip()


def _explanation_headers(
    ctx: InboundContext, reason: str, mid: str | None
) -> dict[str, str] | None:
    """Thread the explanation under the refused mail; when that mail went to a reply address
    (a token of the member's) or to thanks@, answering the explanation with the fixed text
    goes there too, unless resending cannot mend it (``NOT_MENDED_BY_RESENDING``: help@); for
    a channel, see ``MENDED_BY_RESENDING``."""
    headers = {"In-Reply-To": f"<{mid}>", "References": f"<{mid}>"} if mid else {}
    dest = ctx.destination
    domain = ctx.app.config["MAIL_DOMAIN"]
    if dest is not None and dest.kind == "channel" and dest.slug:
        mended = reason in MENDED_BY_RESENDING
        headers["Reply-To"] = (
            addresses.channel_address(dest.slug, domain) if mended else f"help@{domain}"
        )
    elif ctx.rcpt and dest is not None and (dest.token is not None or dest.kind == "thanks"):
        mended = reason not in NOT_MENDED_BY_RESENDING
        headers["Reply-To"] = ctx.rcpt if mended else f"help@{domain}"
    elif dest is None:
        # "We could not tell where your mail should go": the answer gets the how-to, which
        # lists the member's channel addresses, instead of the same refusal again.
        headers["Reply-To"] = f"help@{domain}"
    return headers or None
