"""The inbound rules: a literal, ordered tuple of small functions; the first verdict wins.

Each rule looks at one message (an InboundContext) and either passes (None) or stops it with a
Verdict that names a status and a Reason. A message that passes RULES is handled once for each
of its destinations (``route`` finds them all): DESTINATION_RULES then refuse or skip one
destination only, so a cross-post to a channel closed to the sender still reaches the others.
Rules may fill in what they found out (the destinations, the sender, the extracted text), but
they never act: acting is ``actions.act``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from sqlalchemy import select

from hub import tokens
from hub.errors import Reason
from hub.models import Channel, DigestRun, InboundMessage, OutboxMessage, Post, Thread
from hub.services import accounts
from mailbridge import addresses, answered, auth, bounces, explanation_answers, forwards, quotes
from mailbridge.addresses import Destination
from mailbridge.context import InboundContext
from mailbridge.parse import parse

# Destinations whose mail becomes a post: an empty text there is refused.
POSTING_KINDS = frozenset({"channel", "reply"})
# Outcomes of a destination that placed nothing.
UNSUCCESSFUL = frozenset({"rejected", "ignored", "duplicate", "failed"})


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a rule stopped a message: its final status, the reason, and whether to explain."""

    status: str
    reason: str | None = None
    explain: bool = False


Rule = Callable[[InboundContext], Verdict | None]


def drop_duplicate_post(ctx: InboundContext) -> Verdict | None:
    """A mail whose Message-ID already made a post (e.g. a replay) is not posted again."""
    mid = ctx.incoming.message_id
    if mid and ctx.session.scalar(select(Post.id).where(Post.message_id == mid)) is not None:
        return Verdict("duplicate", Reason.DUPLICATE)
    return None


def drop_own_mail(ctx: InboundContext) -> Verdict | None:
    """Our own mail coming back (Message-ID or sender on our domain, our List-Id, loop header)."""
    domain = ctx.app.config["MAIL_DOMAIN"]
    inc = ctx.incoming
    loop_marks = [inc.headers.get("x-hiroba-loop", ""), inc.headers.get("x-loop", "")]
    if (
        (inc.message_id or "").lower().endswith("@" + domain)
        or inc.sender.endswith("@" + domain)
        or domain in inc.headers.get("list-id", "").lower()
        or any(domain in mark.lower() for mark in loop_marks)
    ):
        return Verdict("ignored", Reason.LOOP)
    return None


def drop_auto_reply(ctx: InboundContext) -> Verdict | None:
    """Out-of-office and other machine replies (RFC 3834, vendor headers, typical subjects)."""
    if ctx.incoming.auto_reply and not bounces.is_bounce(ctx):
        return Verdict("ignored", Reason.AUTO_REPLY)
    return None


def take_bounce(ctx: InboundContext) -> Verdict | None:
    """A delivery failure report: count it against the address it names, post nothing."""
    if bounces.is_bounce(ctx):
        bounces.record(ctx)
        return Verdict("bounce", Reason.BOUNCE)
    return None


def route(ctx: InboundContext) -> Verdict | None:
    """Find where the mail goes: every one of our envelope recipients (when none, To/Cc), else
    one of our Message-IDs it answers. A channel address on a mail answering a thread of that
    channel is a reply there (``answered.channel_replies``). Each destination is handled once,
    in address order but token addresses (replies) first, so a reply that also copies a
    channel is seen before that channel (``skip_replied_channel``).
    """
    cfg = ctx.app.config
    keys = tokens.keys_from_config(cfg)
    found = _ours(ctx.rcpts, cfg, keys) or _ours((*ctx.incoming.to, *ctx.incoming.cc), cfg, keys)
    if not found:
        dest = _from_references(ctx, keys)
        if dest is None:
            return _unroutable(ctx)
        found = [(None, dest)]
    if any(dest.kind == "channel" for _, dest in found):
        found = answered.channel_replies(ctx, found)
    found.sort(key=lambda pair: pair[1].token is None)
    ctx.destinations = found[: int(cfg["SMTP_MAX_RECIPIENTS"])]
    ctx.rcpt, ctx.destination = ctx.destinations[0]
    return None


def _unroutable(ctx: InboundContext) -> Verdict:
    """Mail we cannot place. A stranger is refused as such (in protocol, no backscatter); a
    member sent it to ``reply@`` or ``hiroba@`` (the +token lost) about no mail of ours, so
    they are told why, with their own text quoted, instead of it vanishing after our 250."""
    inc = ctx.incoming
    user = accounts.find_user_by_email(ctx.session, inc.sender) if inc.sender else None
    if user is None:
        domain = str(ctx.app.config["MAIL_DOMAIN"]).lower()
        lost = any(
            addresses.split(a) in {(local, domain) for local in addresses.LOST}
            for a in (*ctx.rcpts, *inc.to, *inc.cc)
        )
        return Verdict("rejected", Reason.UNKNOWN_SENDER if lost else Reason.UNKNOWN_ADDRESS)
    ctx.sender = user
    if not user.active:
        return Verdict("rejected", Reason.INACTIVE_MEMBER)
    stripped = quotes.strip_reply(inc.text or "")
    ctx.row.text, ctx.row.trimmed = stripped.text.strip(), stripped.trimmed or None
    return Verdict("rejected", Reason.UNKNOWN_ADDRESS, explain=True)


def _ours(
    candidates: Iterable[str], cfg: Mapping[str, Any], keys: list[str]
) -> list[tuple[str | None, Destination]]:
    """The (address, destination) pairs of our addresses among ``candidates``, each once
    (a bounce or lost-token address is none: the mail is routed by what it answers)."""
    found: dict[Destination, str] = {}
    for address in candidates:
        dest = addresses.decode(address, cfg["MAIL_DOMAIN"], keys)
        if dest is not None and dest.kind not in ("bounce", "lost") and dest not in found:
            found[dest] = address
    return [(address, dest) for dest, address in found.items()]


def _from_references(ctx: InboundContext, keys: list[str]) -> Destination | None:
    """A reply whose client dropped the +token: In-Reply-To/References name one of our mails."""
    inc = ctx.incoming
    sender = accounts.find_user_by_email(ctx.session, inc.sender) if inc.sender else None
    if sender is None:
        return None
    for mid in (*reversed(inc.in_reply_to), *reversed(inc.references)):
        # A digest answered at digest@ (its +token lost): the member's own digest, as if the
        # token were there, so its items are placed by the digest-reply flow.
        run_id = ctx.session.scalar(
            select(DigestRun.id).where(DigestRun.message_id == mid, DigestRun.user_id == sender.id)
        )
        if run_id is not None:
            return Destination("digest", token=tokens.Token("digest", sender.id, run_id))
        out = ctx.session.scalar(select(OutboxMessage).where(OutboxMessage.message_id == mid))
        if out is not None and out.user_id == sender.id:
            msg = BytesHeaderParser(policy=compat32).parsebytes(out.raw)
            dest = addresses.decode(
                str(msg.get("Reply-To") or ""), ctx.app.config["MAIL_DOMAIN"], keys
            )
            if dest is not None and dest.kind != "bounce":
                return dest
        thread_id = ctx.session.scalar(select(Post.thread_id).where(Post.message_id == mid))
        thread_id = thread_id or ctx.session.scalar(
            select(Thread.id).where(Thread.message_id == mid)
        )
        if thread_id is not None:
            return Destination("reply", token=tokens.Token("reply", sender.id, thread_id))
    return None


def identify_sender(ctx: InboundContext) -> Verdict | None:
    """The From address must be an active member's address or verified alias."""
    inc = ctx.incoming
    user = accounts.find_user_by_email(ctx.session, inc.sender) if inc.sender else None
    if user is None:
        return Verdict("rejected", Reason.UNKNOWN_SENDER)
    ctx.sender = user
    if not user.active:
        return Verdict("rejected", Reason.INACTIVE_MEMBER)
    return None


def check_token_owner(ctx: InboundContext) -> Verdict | None:
    """A reply token works only for the member it was made for (forwarded mail is refused)."""
    dest, user = ctx.destination, ctx.sender
    if dest is not None and dest.token is not None and user is not None:
        if dest.token.user_id != user.id:
            return Verdict("rejected", Reason.TOKEN_SENDER_MISMATCH)
    return None


def authenticate(ctx: InboundContext) -> Verdict | None:
    """Sender authentication (SENDER_AUTH off/monitor/enforce): failures are held."""
    if auth.check(ctx) == "held":
        return Verdict("held", Reason.AUTH_FAILED)
    return None


def extract_text(ctx: InboundContext) -> Verdict | None:
    """Keep only the new text (quotes and signatures go to ``trimmed``); a forward posted to a
    channel or a thread keeps the message it passes on, as a quote (``forwards``)."""
    inc = ctx.incoming
    stripped = None
    if any(dest.kind in POSTING_KINDS for _, dest in ctx.destinations):
        stripped = forwards.forwarded(inc.text or "", inc.subject)
    if stripped is None:
        stripped = quotes.strip_reply(inc.text or "")
    ctx.row.text = stripped.text.strip()
    ctx.row.trimmed = stripped.trimmed or None
    ctx.kept_whole = stripped.kept_whole and bool(ctx.row.text)
    return None


RULES: tuple[Rule, ...] = (
    drop_duplicate_post,
    drop_own_mail,
    drop_auto_reply,
    take_bounce,
    route,
    identify_sender,
    authenticate,
    extract_text,
)


# Rules for one destination of a message that passed RULES (``ctx.destination``, ``ctx.rcpt``);
# a verdict here refuses or skips that destination only.


def skip_replied_channel(ctx: InboundContext) -> Verdict | None:
    """A channel address copied on a mail already placed in a thread of that channel (a reply
    that also Cc's its channel, in the same delivery or an earlier one) opens no second thread
    there, nor is the mail posted twice in that thread (``route`` made the copy a reply in it).

    Nor does the channel copy of a mail placed as a reply in a thread of ANOTHER channel, a
    thread the mail answers, open anything: 小林 answers our mail about a post in dev to all
    and adds sales@ in Cc. The answer belongs to the dev conversation, where it was posted; a
    sales thread 「[開発] ...」 would hold only his new words, cut from what they answer, and
    every later answer to all would be posted in both. To bring a conversation to another
    channel, one forwards it there: a forward keeps the forwarded message. A mail answering another
    channel's thread that was placed nowhere else (sent to sales@ alone, no +token, dev@ not
    copied) still opens a thread in sales, so it is not lost.
    """
    dest = ctx.destination
    if dest is None or dest.kind not in ("channel", "reply"):
        return None
    thread_ids = {
        tid
        for out in (*ctx.earlier, *(out for _, out in ctx.handled))
        if out.status not in UNSUCCESSFUL
        for tid in (out.thread_id, *(r.get("thread_id") for r in out.results))
        if tid is not None
    }
    if not thread_ids:
        return None
    if dest.kind == "reply":
        placed = dest.token is not None and dest.token.target_id in thread_ids
        return Verdict("ignored", Reason.DUPLICATE) if placed else None
    if thread_ids.intersection(ctx.answered):
        return Verdict("ignored", Reason.DUPLICATE)
    in_channel = ctx.session.scalar(
        select(Thread.id)
        .join(Channel, Channel.id == Thread.channel_id)
        .where(Thread.id.in_(thread_ids), Channel.slug == dest.slug)
        .limit(1)
    )
    return Verdict("ignored", Reason.DUPLICATE) if in_channel is not None else None


def refuse_empty_post(ctx: InboundContext) -> Verdict | None:
    """A destination whose mail becomes a post refuses an empty text (the member is told), and
    an answer to our explanation of a refusal that adds nothing to the quoted explanation (it
    would post our own "could not be posted" text in the channel or thread) -- unless the mail
    carries files: then the files are the post, without our words."""
    dest = ctx.destination
    if dest is None or dest.kind not in POSTING_KINDS:
        return None
    if ctx.row.text and not explanation_answers.adds_nothing(ctx):
        return None
    # The answer to "a new thread needs a subject" with the title typed in and nothing
    # written: the refused mail's text (quoted in the explanation) and files are the post.
    refused = explanation_answers.mail_awaiting_title(ctx)
    if refused is not None:
        ctx.row.trimmed = "\n\n".join(t for t in (ctx.row.text, ctx.row.trimmed) if t) or None
        ctx.row.text, ctx.kept_whole = refused.text, False
        _take_attachments(ctx, refused)
        return None
    if ctx.incoming.attachments:
        # Files sent with nothing to add (a document, a pasted screenshot): they are the post.
        ctx.row.trimmed = "\n\n".join(t for t in (ctx.row.text, ctx.row.trimmed) if t) or None
        ctx.row.text, ctx.kept_whole = "", False
        return None
    return Verdict("rejected", Reason.EMPTY_BODY, explain=True)


def _take_attachments(ctx: InboundContext, refused: InboundMessage) -> None:
    """Post the refused mail's files with its text, read again from its stored source, unless
    the answer carries files of its own (attached again: posted instead, not twice).

    Once mail retention dropped that source (HIROBA_KEEP_MAIL_DAYS after it came), only its text
    is left and the text alone is posted: whether it even had files is no longer known, so a
    note could only guess, on an answer that came months after the explanation.
    """
    if ctx.incoming.attachments or refused.raw_dropped_at is not None:
        return
    files = parse(refused.raw).attachments
    ctx.incoming = dataclasses.replace(ctx.incoming, attachments=files)


DESTINATION_RULES: tuple[Rule, ...] = (
    check_token_owner,
    skip_replied_channel,
    refuse_empty_post,
)
