"""Mail that answers one of our mails to its sender: an explanation of a refusal (answered with
the fixed text, or the title typed into the subject) or a post's mail answered with nothing but
its own words; and the refused mail's subject read back out of an explanation's subject."""

from __future__ import annotations

import re
import unicodedata
from email import message_from_bytes, policy
from email.message import EmailMessage

from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select

from hub.errors import Reason
from hub.models import InboundMessage, OutboxMessage
from hub.services.accounts import LOCALES
from mailbridge.context import InboundContext
from mailbridge.parse import Incoming, parse, strip_subject_prefixes


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


def unwrap_explanation(app: Flask, subject: str) -> str | None:
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
    while (inner := unwrap_explanation(app, text)) is not None:
        text = strip_subject_prefixes(inner)
    # The title typed before "Re: Not posted: (no subject)" (the cursor at the start).
    for space in re.finditer(r"\s+", text):
        if unwrap_explanation(app, strip_subject_prefixes(text[space.end() :])) == "":
            return text[: space.start()].strip(_SEPARATORS)
    return text
