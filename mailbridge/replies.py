"""The two lookup tables of a refusal (Reason -> SMTP reply text, Reason -> explanation mail),
and ``explain``, which queues that explanation mail."""

from __future__ import annotations

import re
import unicodedata
from email import message_from_bytes, policy
from email.message import EmailMessage

from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.db import utcnow
from hub.errors import Reason
from hub.i18n import N_
from hub.models import InboundMessage, OutboxMessage, RefusalNotice
from hub.services.accounts import LOCALES
from mailbridge import addresses, explain_where, outbound
from mailbridge.context import InboundContext
from mailbridge.parse import Incoming, parse, strip_subject_prefixes

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
    if _unwrap_explanation(ctx.app, strip_subject_prefixes(subject)) is not None:
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


def answers_explanation(ctx: InboundContext, inc: Incoming) -> bool:
    """Tell whether ``inc`` answers an explanation mail we sent its sender."""
    return _answered_mail(ctx, inc, ("refusal",)) is not None


def _answered_mail(ctx: InboundContext, inc: Incoming, kinds: tuple[str, ...]) -> bytes | None:
    """The raw mail of ours (of one of ``kinds``) to its sender that ``inc`` answers, if any."""
    ids = [*inc.in_reply_to, *inc.references]
    if not ids or ctx.sender is None:
        return None
    return ctx.session.scalar(
        select(OutboxMessage.raw)
        .where(
            OutboxMessage.message_id.in_(ids),
            OutboxMessage.kind.in_(kinds),
            OutboxMessage.user_id == ctx.sender.id,
        )
        .limit(1)
    )


def mail_awaiting_title(ctx: InboundContext) -> InboundMessage | None:
    """The member's new thread refused for want of a subject (its text kept), when ``ctx``'s
    mail answers that explanation (which quotes the text: typing the title into the answer's
    subject line is all the explanation asks); else None."""
    inc, dest = ctx.incoming, ctx.destination
    ids = [*inc.in_reply_to, *inc.references]
    if not ids or ctx.sender is None or dest is None or dest.kind != "channel":
        return None
    key = ctx.session.scalar(
        select(OutboxMessage.dedupe_key)
        .where(
            OutboxMessage.message_id.in_(ids),
            OutboxMessage.kind == "refusal",
            OutboxMessage.user_id == ctx.sender.id,
        )
        .limit(1)
    )
    found = re.match(r"^refusal:(\d+)", key or "")
    refused = ctx.session.get(InboundMessage, int(found.group(1))) if found else None
    if refused is None or not (refused.text or _had_files(refused)):
        return None
    reasons = {refused.reason, *(r.get("reason") for r in refused.results)}
    return refused if Reason.EMPTY_TITLE in reasons else None


def _had_files(refused: InboundMessage) -> bool:
    """Whether a mail without text carried files (not known once retention dropped it)."""
    if refused.raw_dropped_at is not None:
        return False
    return bool(parse(refused.raw).attachments)


def adds_nothing(ctx: InboundContext) -> bool:
    """Tell whether the mail answers one of our mails (a refusal's explanation, a post
    notification) with nothing but that mail's own words, quoted or not: sent by mistake, or
    Outlook's header block on top leaving our text as if new. Posting it would repeat our mail
    ("Your mail could not be posted", or the post itself) in the channel or thread. The member's
    own text quoted in an explanation, written again unquoted, is new (a resend without the
    file); so is a short answer that happens to repeat a line of ours ("了解です。")."""
    raw = _answered_mail(ctx, ctx.incoming, ("refusal", "post"))
    if raw is None:
        return False
    if ctx.kept_whole:
        # Nothing but quotes and their attribution: the stripper kept it all only so as never
        # to drop a member's words; here those words are ours.
        return True
    body = message_from_bytes(raw, policy=policy.default).get_body(("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    ours = {s for line in text.splitlines() if (s := line.strip()) and not s.startswith(">")}
    new = {s for line in (ctx.row.text or "").splitlines() if (s := line.strip()) and s[0] != ">"}
    return bool(new) and new <= ours and 2 * len(new) >= len(ours)


_SENTINEL = "\x00"


def _explanation_subjects(app: Flask) -> tuple[list[re.Pattern[str]], frozenset[str]]:
    """The explanation's subject in each language as patterns around the refused mail's
    subject (group ``s``), and its words for "no subject"; read from
    templates/mail/rejected.subject.txt once per app, so they follow the template."""
    cached = app.extensions.get("hiroba.explanation_subjects")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    patterns, empty = [], set()
    template = app.jinja_env.get_template("mail/rejected.subject.txt")
    for locale in LOCALES:
        with app.app_context(), force_locale(locale):
            wrapped = " ".join(template.render(subject=_SENTINEL).split())
            blank = " ".join(template.render(subject="").split())
        prefix, _, suffix = wrapped.partition(_SENTINEL)
        patterns.append(
            re.compile(rf"^{_loose(prefix)}\s*(?P<s>.*?)\s*{_loose(suffix)}$", re.S | re.I)
        )
        found = patterns[-1].match(blank)
        if found and found.group("s"):
            empty.add(unicodedata.normalize("NFKC", found.group("s")))
    app.extensions["hiroba.explanation_subjects"] = (patterns, frozenset(empty))
    return patterns, frozenset(empty)


def _loose(text: str) -> str:
    """A pattern for ``text`` as a mail client may give it back: any spacing, either colon."""
    out = []
    for ch in text.strip():
        if ch.isspace():
            out.append(r"\s*")
        elif ch in ":：":
            out.append("[:：]")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def _unwrap_explanation(app: Flask, subject: str) -> str | None:
    """The refused mail's subject inside an explanation's subject, else None (``""`` when that
    mail had none; the address a mail to several of ours adds is dropped)."""
    patterns, empty = _explanation_subjects(app)
    domain = re.escape(str(app.config["MAIL_DOMAIN"]))
    for pattern in patterns:
        found = pattern.match(subject.strip())
        if found:
            inner = re.sub(rf"\s*\(\S+@{domain}\)$", "", found.group("s"), flags=re.I).strip()
            # The title typed next to our "(no subject)" instead of over it.
            for words in empty:
                typed = re.sub(rf"^{_any_width(words)}|{_any_width(words)}$", "", inner)
                if typed != inner:
                    inner = typed.strip(_SEPARATORS)
            return inner
    return None


_SEPARATORS = " \t-–—:：/|"


def _any_width(text: str) -> str:
    """A pattern for ``text`` (NFKC-normal) as typed in half- or full-width ("（件名なし）")."""
    out = []
    for ch in text:
        if ch.isspace():
            out.append(r"\s*")
        elif "!" <= ch <= "~":
            out.append(f"[{re.escape(ch)}{re.escape(chr(ord(ch) + 0xFEE0))}]")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def original_subject(app: Flask, subject: str) -> str:
    """A mail's subject without reply prefixes and without our explanation's own words, so the
    answer to "Not posted: 予算" (「Re: 投稿されませんでした: 予算」) opens the thread "予算"; the
    answer to an explanation of a mail without subject has none (""): e.g.
    "RE: 投稿されませんでした: Re: 予算 (general@hub.test)" gives "予算", and
    "Re: Not posted: (no subject)" gives "".
    """
    text = strip_subject_prefixes(subject)
    while (inner := _unwrap_explanation(app, text)) is not None:
        text = strip_subject_prefixes(inner)
    # The title typed before "Re: Not posted: (no subject)" (the cursor at the start).
    for space in re.finditer(r"\s+", text):
        if _unwrap_explanation(app, strip_subject_prefixes(text[space.end() :])) == "":
            return text[: space.start()].strip(_SEPARATORS)
    return text
