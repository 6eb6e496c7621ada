"""Culture by mail: acknowledging announcements, thanks cards, accepting the rules (mail in).

The mail-in pipeline's act stage calls ``act_ack`` / ``act_thanks`` / ``act_welcome`` for
``ack+<token>@``, ``thanks@`` and ``welcome+<token>@`` (``act_rules`` for the answer to "the
rules were updated", ``rules+<token>@``, and ``act_thanks_value`` for the answer to "which
value?", ``thanks+<token>@``); the fan-out handlers that mail the culture events out are in
``mailbridge.culture_out`` (``HANDLERS``).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from hub.errors import HubError, Reason
from hub.models import Announcement, Thanks, Thread, User, Via
from hub.services import accounts, acknowledgements, announcements, rules, threads
from hub.services import thanks as thanks_service
from mailbridge import commands, explanation_answers
from mailbridge.addresses import split
from mailbridge.context import InboundContext, Outcome
from mailbridge.quotes import strip_reply

# A short acknowledgement: these words (and punctuation, honorific endings) and nothing more.
_ACK_WORDS = re.compile(
    r"^(?:了解|了解です|了解しました|承知|承知しました|承知いたしました|確認|確認しました|確認いたしました"
    r"|拝承|拝見しました|わかりました|分かりました|ok|okay|okです|thanks|thank you|thx|noted|got it"
    r"|ack|acknowledged|ありがとう|ありがとうございます|ありがとうございました|よろしくお願いします"
    r"|よろしくお願いいたします|宜しくお願いします|👍)$",
    re.I,
)
_SPLIT = re.compile(r"[\s、。,.!！~〜ー・]+")
SHORT_REMARK = 12


def _new_text(ctx: InboundContext) -> tuple[str, str]:
    """The reply's new text and what was trimmed from it."""
    stripped = strip_reply(ctx.incoming.text or "")
    return stripped.text.strip(), stripped.trimmed


def is_question(text: str) -> bool:
    """Tell whether a reply is more than a short acknowledgement (a question or remark)."""
    if not text:
        return False
    if "?" in text or "？" in text:
        return True
    parts = [p for p in _SPLIT.split(text.lower()) if p]
    # What is left once the acknowledgement words are taken away: a remark, if long enough.
    rest = "".join(p for p in parts if not _ACK_WORDS.match(p))
    return len(rest) > SHORT_REMARK


def only_ack_words(text: str, name: str = "") -> bool:
    """Tell whether ``text`` says nothing but an acknowledgement ("了解しました。", "OK"), signed
    perhaps with the sender's ``name`` or part of it ("了解しました。 山本")."""
    signed = {p for p in _SPLIT.split(name.lower()) if p} | {"".join(name.lower().split())}
    parts = [p for p in _SPLIT.split(text.lower()) if p and p not in signed]
    return bool(parts) and all(_ACK_WORDS.match(p) for p in parts)


def ack_in_thread(ctx: InboundContext, thread: Thread) -> Outcome | None:
    """A bare "了解しました" answered through the reply address of an announcement's thread (its
    notification's, not the announcement mail's ack+ address) acknowledges the announcement,
    as the member meant, instead of posting "了解しました" under it. Anything more is posted as
    usual (None), and so is an acknowledgement given already."""
    user, text = ctx.sender, (ctx.row.text or "").strip()
    if user is None or ctx.incoming.attachments or not only_ack_words(text, user.name):
        return None
    announcement = ctx.session.scalar(
        select(Announcement).where(
            Announcement.thread_id == thread.id, Announcement.ack_required.is_(True)
        )
    )
    if announcement is None or acknowledgements.find_ack(ctx.session, user, announcement):
        return None
    if user.id not in {u.id for u in announcements.asked(ctx.session, announcement)}:
        return None
    acknowledgements.acknowledge(
        ctx.session, user=user, announcement=announcement, via=Via.EMAIL, words=ack_words(text)
    )
    return Outcome(
        "acknowledged", thread_id=thread.id, author=user.email, text=text,
        trimmed=ctx.row.trimmed,
    )  # fmt: skip


def ack_words(text: str) -> str:
    """The words recorded with an acknowledgement: the first line, kept short."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:200]


def _sender(ctx: InboundContext) -> User | None:
    if ctx.sender is not None:
        return ctx.sender
    return accounts.find_user_by_email(ctx.session, ctx.incoming.sender or "")


def act_ack(ctx: InboundContext) -> Outcome:
    """A reply to an announcement's ``ack+<token>@`` address acknowledges it (any words)."""
    session = ctx.session
    token = ctx.destination.token if ctx.destination else None
    user = _sender(ctx)
    announcement = session.get(Announcement, token.target_id) if token else None
    if user is None or announcement is None or (token and token.user_id != user.id):
        return Outcome("rejected", reason=Reason.BAD_TOKEN.value)
    text, trimmed = _new_text(ctx)
    try:
        acknowledgements.acknowledge(
            session, user=user, announcement=announcement, via=Via.EMAIL, words=ack_words(text)
        )
    except HubError as exc:
        return Outcome("rejected", reason=exc.reason.value, author=user.email, text=text)
    thread_id = announcement.thread_id
    post_id = None
    if is_question(text) and thread_id is not None:
        thread = session.get(Thread, thread_id)
        if thread is not None:
            try:
                post = threads.reply(
                    session, author=user, thread=thread, body=text, via=Via.EMAIL,
                    message_id=ctx.incoming.message_id, trimmed=trimmed or None,
                )  # fmt: skip
                session.flush()
                post_id = post.id
            except HubError:
                post_id = None
    return Outcome(
        "acknowledged", thread_id=thread_id, post_id=post_id, author=user.email, text=text,
        trimmed=trimmed or None,
    )  # fmt: skip


def _colleagues(ctx: InboundContext, sender: User) -> list[User]:
    domain = str(ctx.app.config["MAIL_DOMAIN"]).lower()
    found: dict[int, User] = {}
    for address in (*ctx.incoming.to, *ctx.incoming.cc):
        if split(address)[1] == domain:
            continue
        user = accounts.find_user_by_email(ctx.session, address)
        if user is not None and user.active and user.id != sender.id:
            found[user.id] = user
    return list(found.values())


def act_thanks(ctx: InboundContext) -> Outcome:
    """A mail to ``thanks@`` with colleagues in To/Cc makes a thanks card for them."""
    session = ctx.session
    user = _sender(ctx)
    if user is None:
        return Outcome("rejected", reason=Reason.UNKNOWN_SENDER.value)
    text, trimmed = _new_text(ctx)
    receivers = _colleagues(ctx, user)
    if not receivers:
        return Outcome("rejected", reason=Reason.NO_RECIPIENTS.value, author=user.email, text=text)
    # An answer to the explanation "Not posted: ありがとう" keeps the member's "ありがとう".
    subject = explanation_answers.original_subject(ctx.app, ctx.incoming.subject or "")
    message = text or subject
    value = thanks_service.value_in_text(session, f"{subject}\n{text}")
    try:
        thanks_service.send(
            session, sender=user, recipients=receivers, message=message, value=value,
            via=Via.EMAIL,
        )  # fmt: skip
    except HubError as exc:
        return Outcome("rejected", reason=exc.reason.value, author=user.email, text=text)
    return Outcome("thanked", author=user.email, text=message, trimmed=trimmed or None)


def act_thanks_value(ctx: InboundContext) -> Outcome:
    """A reply to "which value does your thanks card show?" (``thanks+<token>@``) naming a
    value by its #tag or name sets it, as the mail's links do."""
    session = ctx.session
    token = ctx.destination.token if ctx.destination else None
    user = _sender(ctx)
    card = session.get(Thanks, token.target_id) if token else None
    if user is None or card is None or token is None or token.user_id != user.id:
        return Outcome("rejected", reason=Reason.BAD_TOKEN.value)
    text, trimmed = _new_text(ctx)
    value = thanks_service.value_named(session, text)
    if value is None:
        return Outcome(
            "rejected", reason=Reason.UNKNOWN_VALUE.value, author=user.email, text=text,
            trimmed=trimmed or None,
        )  # fmt: skip
    thanks_service.set_value(session, user=user, thanks=card, value=value)
    return Outcome("thanked", author=user.email, text=text, trimmed=trimmed or None)


def act_welcome(ctx: InboundContext) -> Outcome:
    """A reply to the welcome mail accepts the usage rules (a member's first acceptance)."""
    return _accept_rules(ctx, first_only=True)


def act_rules(ctx: InboundContext) -> Outcome:
    """A reply to "the rules were updated" accepts the version that mail carried."""
    return _accept_rules(ctx, first_only=False)


def _accept_rules(ctx: InboundContext, *, first_only: bool) -> Outcome:
    token = ctx.destination.token if ctx.destination else None
    user = _sender(ctx)
    if user is None or token is None or token.user_id != user.id:
        return Outcome("rejected", reason=Reason.BAD_TOKEN.value)
    text, trimmed = _new_text(ctx)
    if not first_only:
        rules.accept_rules(ctx.session, user, Via.EMAIL, version=token.target_id)
    elif user.rules_accepted_at is None:
        # The welcome mail asks for the first acceptance, of the rules its link shows now;
        # answered again later it accepts nothing changed since (their own mail asks for that).
        rules.accept_rules(ctx.session, user, Via.EMAIL)
    # The welcome mail also teaches the commands ("digest weekly") and how to take part: an
    # answer that gives a command runs it, and one that asks more than "了解しました" gets the
    # how-to, as from help@, instead of its words being dropped after the rules are accepted.
    if commands.parse_commands("", text) or is_question(text):
        ctx.sender = user
        commands.run(ctx)
    return Outcome("acknowledged", author=user.email, text=text, trimmed=trimmed or None)
