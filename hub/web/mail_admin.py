"""Admin mail pages: the inbound log (outcome, raw source, replay) and the mail catcher.

The catcher shows what the hub would have sent (CaughtMail) and lets an admin answer any caught
mail *as its recipient*: a real reply (quoted original, In-Reply-To/References, To = its Reply-To)
goes over SMTP to the hub's own intake, so the email-only member's side can be lived in a
browser. The web never imports mailbridge: a replay puts the message back to ``received`` and the
worker's ``process_received`` job runs it again.
"""

from __future__ import annotations

import email
import email.policy
import re
import smtplib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hub.db import get_session, utcnow
from hub.errors import Reason
from hub.models import CaughtMail, InboundMessage, Post
from hub.services import mail_answers
from hub.web.admin_only import admins_only

bp = Blueprint("mail_admin", __name__, url_prefix="/admin/mail")

STATUSES = (
    "received", "posted", "replied", "reacted", "command", "acknowledged", "thanked", "held",
    "rejected", "ignored", "bounce", "duplicate", "failed",
)  # fmt: skip
WEEKDAYS_JA = "月火水木金土日"
# What became of a message, in the admin's words (the codes stay in URLs: ?status=posted).
STATUS_LABELS = {
    "received": _l("Waiting to be processed"),
    "posted": _l("Posted as a new thread"),
    "replied": _l("Posted as a reply"),
    "reacted": _l("Reaction added"),
    "command": _l("Commands carried out"),
    "acknowledged": _l("Announcement acknowledged"),
    "thanked": _l("Thanks card sent"),
    "held": _l("Held for an admin"),
    "rejected": _l("Refused (the sender was told why)"),
    "ignored": _l("Ignored (auto-reply or loop)"),
    "bounce": _l("Bounce (a delivery failure report)"),
    "duplicate": _l("Duplicate (already received)"),
    "failed": _l("Failed (can be replayed)"),
}
SOURCE_LABELS = {"cli": _l("Command line"), "catcher": _l("Mail catcher")}
# Why a message ended as it did, in the admin's words (the codes stay in ?status and JSON).
# This is the web's own table: mailbridge.replies words the same codes for the *sender*, in
# the second person and only for what they can mend ("Your mail had no text we could post."),
# while an admin reads about a sender, also for refusals and skips no sender is ever told of
# (forgeries, auto-replies, loops). So the two tables share codes (hub.errors.Reason), not text.
REASON_LABELS: dict[str, LazyString] = {
    Reason.NOT_FOUND: _l("What it answered is gone or no longer open to the sender"),
    Reason.NOT_A_MEMBER: _l("The sender is not a member of this private channel"),
    Reason.PRIVATE_CHANNEL: _l("The channel is private and the sender is not a member"),
    Reason.INACTIVE_MEMBER: _l("The sender's account is deactivated"),
    Reason.UNKNOWN_SENDER: _l("The sender is not a member of the hub"),
    Reason.UNKNOWN_ADDRESS: _l("No channel or hub address by that name"),
    Reason.BAD_TOKEN: _l("The reply address is not valid (altered or from an old key)"),
    Reason.TOKEN_SENDER_MISMATCH: _l("The reply address belongs to another member"),
    Reason.EMPTY_BODY: _l("No text to post"),
    Reason.EMPTY_TITLE: _l("No subject (a new thread needs one)"),
    Reason.TOO_LARGE: _l("The mail or an attachment is too large"),
    Reason.UNSUPPORTED_TYPE: _l("An attachment of a type the hub does not accept"),
    Reason.FORBIDDEN: _l("The sender may not post there"),
    Reason.ADMIN_ONLY: _l("Only admins may do that"),
    Reason.NOT_AUTHOR: _l("Only the author may change that post"),
    Reason.DUPLICATE_EMAIL: _l("A member with that address already exists"),
    Reason.INVALID_EMAIL: _l("Not a valid mail address"),
    Reason.INVALID_SLUG: _l("Not a valid channel address name"),
    Reason.DUPLICATE_SLUG: _l("A channel with that address name already exists"),
    Reason.DUPLICATE_NAME: _l("A channel with that name already exists"),
    Reason.PURPOSE_REQUIRED: _l("A channel needs a purpose"),
    Reason.REASON_REQUIRED: _l("A private channel needs a stated reason"),
    Reason.INVALID_VALUE: _l("A value that is not valid"),
    Reason.CHANNEL_ARCHIVED: _l("The channel is archived"),
    Reason.POST_DELETED: _l("The post was deleted"),
    Reason.AUTH_FAILED: _l("The sender's domain did not vouch for it (DKIM/SPF): check it"),
    Reason.AUTO_REPLY: _l("An automatic reply, such as out of office"),
    Reason.LOOP: _l("The hub's own mail, or a mail loop"),
    Reason.BOUNCE: _l("A report that a mail could not be delivered"),
    Reason.DUPLICATE: _l("Already received"),
    Reason.NO_RECIPIENTS: _l("No colleague of the hub in To or Cc"),
    # Whether the sender was asked, and when, is for the answers the page lists to say.
    Reason.AMBIGUOUS_DIGEST_REPLY: _l(
        "A reply to a digest under no thread: its text is kept until the sender names the thread"
    ),
    Reason.ALREADY_DONE: _l("Already done earlier: nothing more to do"),
    Reason.NOT_PERMITTED_BY_POLICY: _l("Not allowed by the hub's policy"),
    Reason.UNKNOWN_COMMAND: _l("No command the hub knows"),
    Reason.LAST_OWNER: _l("The channel's last owner cannot leave"),
    Reason.UNKNOWN_VALUE: _l("No company value by that name"),
}
_INTERNAL_ERROR = re.compile(r"internal_error: (\w+)")


def reason_label(code: str | None) -> str:
    """A recorded reason in the admin's words (a failure names the error); a code the table
    lacks is shown as it is."""
    if not code:
        return ""
    if code in REASON_LABELS:
        return str(REASON_LABELS[code])
    if found := _INTERNAL_ERROR.fullmatch(code):
        return str(_("An error in the hub (%(error)s): replay it once fixed", error=found.group(1)))
    return code


def status_label(code: str, reason: str | None = None) -> str:
    """How a message ended, in words; a digest reply kept until its sender names the thread
    is held for the sender, not for an admin."""
    if code == "held" and reason == Reason.AMBIGUOUS_DIGEST_REPLY:
        return str(_("Waiting for the sender to name the thread"))
    return str(STATUS_LABELS.get(code, code))


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "status_label": status_label,
        "source_label": lambda code: SOURCE_LABELS.get(code, code.upper()),
        "reason_label": reason_label,
    }


admins_only(bp)


@bp.get("")
def log() -> ResponseReturnValue:
    """Every inbound message, newest first, with its outcome; filter by status."""
    status = request.args.get("status") or None
    stmt = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(200)
    if status in STATUSES:
        stmt = stmt.where(InboundMessage.status == status)
    rows = list(get_session().scalars(stmt))
    whole = kept_whole_posts([r.post_id for r in rows if r.post_id is not None])
    return render_template(
        "admin/mail_log.html", rows=rows, status=status, statuses=STATUSES, whole=whole
    )


@bp.get("/<int:row_id>")
def message(row_id: int) -> ResponseReturnValue:
    """One inbound message: outcome, raw source, replay button."""
    row = get_session().get(InboundMessage, row_id) or abort(404)
    raw = row.raw.decode("utf-8", "replace")
    kept_whole = row.post_id is not None and row.post_id in kept_whole_posts([row.post_id])
    answers = mail_answers.answers_to(get_session(), row)
    return render_template(
        "admin/mail_message.html", row=row, raw=raw, kept_whole=kept_whole, answers=answers
    )


def kept_whole_posts(post_ids: list[int]) -> set[int]:
    """Those of ``post_ids`` that are a whole mail, nothing new having been found above its
    quotes (Post.kept_whole, as ``hiroba mail log --json`` reports it)."""
    if not post_ids:
        return set()
    stmt = select(Post.id).where(Post.id.in_(post_ids), Post.kept_whole)
    return set(get_session().scalars(stmt))


@bp.post("/<int:row_id>/replay")
def replay(row_id: int) -> ResponseReturnValue:
    """Put a message back in the queue; the worker runs it through the pipeline again."""
    db = get_session()
    row = db.get(InboundMessage, row_id) or abort(404)
    if row.raw_dropped_at is not None:
        # Mail retention (KEEP_MAIL_DAYS) dropped what the pipeline would read.
        flash(
            _("This mail cannot be replayed: its source was deleted after the retention period."),
            "error",
        )
        return redirect(url_for("mail_admin.message", row_id=row_id), 303)
    if not row.replayable:
        # Posted or carried out: a replay would only find it again and lose what it became.
        flash(_("This mail was taken already: there is nothing to replay."), "error")
        return redirect(url_for("mail_admin.message", row_id=row_id), 303)
    row.status, row.reason, row.processed_at = "received", None, None
    db.commit()
    flash(_("The message will be processed again in a moment."), "info")
    return redirect(url_for("mail_admin.message", row_id=row_id), 303)


# --- the mail catcher -----------------------------------------------------------------------


def _catcher_on() -> None:
    # The catcher exists only while no relay is configured: once real mail flows, "reply as the
    # recipient" would let an admin speak for any member.
    if not current_app.config.get("MAIL_CATCHER") or current_app.config.get("RELAY_URL"):
        abort(404)


def parsed(mail: CaughtMail) -> dict[str, Any]:
    """A caught mail's headers and bodies, ready to show."""
    msg = email.message_from_bytes(mail.raw, policy=email.policy.default)
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    return {
        "mail": mail,
        "headers": [(k, str(v)) for k, v in msg.items()],
        "sender": str(msg.get("From", "")),
        "text": text.get_content() if text is not None else "",
        "html": html.get_content() if html is not None else None,
        "msg": msg,
    }


@bp.get("/caught")
def caught() -> ResponseReturnValue:
    """What the hub sent (caught instead of delivered), newest first, each answerable."""
    _catcher_on()
    stmt = select(CaughtMail).order_by(CaughtMail.id.desc())
    to = request.args.get("to")
    if to:
        stmt = stmt.where(CaughtMail.to_addr == to.strip().lower())
    mails = [parsed(m) for m in get_session().scalars(stmt.limit(50))]
    return render_template("admin/mail_caught.html", mails=mails, to=to, result=None)


def attribution(msg: EmailMessage, tz: str) -> str:
    """Gmail's Japanese attribution line: ``2026年11月27日(金) 10:00 名前 <addr>:``."""
    try:
        when: datetime = msg["Date"].datetime if msg["Date"] else utcnow()
    except (TypeError, ValueError, AttributeError):
        when = utcnow()
    when = when.astimezone(ZoneInfo(tz))
    name, addr = parseaddr(str(msg.get("From", "")))
    who = f"{name} <{addr}>" if name else f"<{addr}>"
    day = WEEKDAYS_JA[when.weekday()]
    return f"{when.year}年{when.month}月{when.day}日({day}) {when:%H:%M} {who}:"


def build_reply(mail: CaughtMail, body: str, tz: str = "Asia/Tokyo") -> EmailMessage:
    """A reply as the recipient's mail client writes it: new text, then the quoted original."""
    info = parsed(mail)
    original: EmailMessage = info["msg"]
    reply = EmailMessage()
    reply["From"] = mail.to_addr
    reply["To"] = str(original.get("Reply-To") or original.get("From"))
    subject = str(original.get("Subject", ""))
    reply["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    reply["Date"] = format_datetime(utcnow())
    domain = mail.to_addr.rpartition("@")[2] or "catcher.invalid"
    reply["Message-ID"] = make_msgid("catcher", domain=domain)
    parent = str(original.get("Message-ID", "")).strip()
    if parent:
        refs = str(original.get("References", "")).split()
        reply["In-Reply-To"] = parent
        reply["References"] = " ".join([*refs, parent])
    quoted = "\n".join("> " + line if line else ">" for line in info["text"].splitlines())
    reply.set_content(f"{body.strip()}\n\n{attribution(original, tz)}\n{quoted}\n")
    return reply


@bp.post("/caught/<int:mail_id>/reply")
def reply_as_recipient(mail_id: int) -> ResponseReturnValue:
    """Send a reply as the caught mail's recipient to the SMTP intake; show what happened."""
    _catcher_on()
    db = get_session()
    mail = db.get(CaughtMail, mail_id) or abort(404)
    cfg = current_app.config
    reply = build_reply(mail, request.form.get("body", ""), str(cfg["DEFAULT_TIMEZONE"]))
    result: dict[str, Any] = {"mail_id": mail_id, "to": reply["To"]}
    sender = mail.to_addr
    # Let go of the database first: the intake writes while this request waits (SQLite locks).
    db.rollback()
    try:
        with smtplib.SMTP(str(cfg["SMTP_HOST"]), int(cfg["SMTP_PORT"]), timeout=30) as s:
            s.send_message(reply, from_addr=sender)
        result["smtp"] = "250"
    except smtplib.SMTPResponseException as exc:
        said = exc.smtp_error
        told = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
        result["smtp"] = f"{exc.smtp_code} {told}"
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        result["smtp"] = f"{code} {text.decode('utf-8', 'replace')}"
    except OSError as exc:
        result["smtp"] = _("The SMTP intake is not reachable: %(error)s", error=str(exc))
    db.rollback()  # see what the intake committed
    key = str(reply["Message-ID"]).strip("<>")
    result["inbound"] = db.scalar(select(InboundMessage).where(InboundMessage.message_key == key))
    mails = [
        parsed(m) for m in db.scalars(select(CaughtMail).order_by(CaughtMail.id.desc()).limit(50))
    ]
    return render_template("admin/mail_caught.html", mails=mails, to=None, result=result)
