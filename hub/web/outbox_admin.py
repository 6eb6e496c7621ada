"""Admin mail pages, the outgoing side: every mail the hub wrote, what became of it, and
"send now" for one that waits.

With a relay configured the mail catcher is off, so this is where an admin answers "did he get
it?": the invitation still waiting, the welcome mail held for the member's working hours, the
announcement that bounced. A mail's page shows its headers and text part with every signed
token hidden (``hub.web.mail_secrets``); the text of a sign-in mail not at all, nor that of mail
quoting a private channel the admin is not in.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hub.db import get_session, utcnow
from hub.services import bounces, outbox_log
from hub.web.admin_only import admins_only
from hub.web.mail_secrets import hider

bp = Blueprint("outbox_admin", __name__, url_prefix="/admin/mail/outgoing")

# What a mail is for, in the admin's words (the codes are OutboxMessage.kind, written by the
# mail bridge: tests/hub/test_outbox_log.py checks that every kind it writes is here).
KIND_LABELS: dict[str, LazyString] = {
    "post": _l("Post or mention"),
    "digest": _l("Digest"),
    "announcement": _l("Announcement"),
    "announcement_reminder": _l("Announcement reminder"),
    "invite": _l("Invitation"),
    "login": _l("Sign-in link"),
    "welcome": _l("Welcome (taking part by mail)"),
    "rules_updated": _l("New rules to accept"),
    "thanks": _l("Thanks card"),
    "thanks_value": _l("Choose a value for a thanks card"),
    "channel_request": _l("Private channel request"),
    "channel_decision": _l("Private channel decision"),
    "channel_review": _l("Open or archive a channel?"),
    "channel_added": _l("Added to a channel"),
    "post_hidden": _l("Post hidden"),
    "nudge": _l("Friendly nudge"),
    "member_bouncing": _l("A member's mail stopped"),
    "help_question": _l("Question to the admins"),
    "command": _l("Answer to a mail command"),
    "refusal": _l("Why a mail was not posted"),
    "which": _l("Which thread? (a digest reply)"),
    "which_posted": _l("Where a digest reply went"),
}
# The filter's choices; each row's own words say more (when, why: _outbox_state.html).
STATE_LABELS: dict[str, LazyString] = {
    "waiting": _l("Waiting for working hours"),
    "due": _l("Waiting to be sent"),
    "retrying": _l("Retrying"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "bounced": _l("Bounced"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
}
# Why the mail bridge did not send a mail that waited (mailbridge/still_wanted.py writes these
# English reasons into last_error; tests/hub/test_outbox_log.py checks that each is here).
CANCEL_LABELS: dict[str, LazyString] = {
    "the post was deleted or hidden": _l("the post was deleted or hidden"),
    "the channel is closed": _l("the channel is closed"),
    "the member no longer takes mail": _l(
        "the member takes no mail now (deactivated, or their mail bounced)"
    ),
    "no longer a member of the private channel": _l("no longer a member of the private channel"),
    "mail from this channel was turned off": _l("mail from this channel was turned off"),
    "the thread was muted": _l("the thread was muted"),
    "the member accepted the rules meanwhile": _l("the member accepted the rules meanwhile"),
    "the rules were asked again since": _l("the rules were asked again since"),
    "the announcement was edited: its mail is written anew": _l(
        "the announcement was edited: its mail is written anew"
    ),
    "the announcement was asked again since": _l("the announcement was asked again since"),
    "the member acknowledged the announcement meanwhile": _l(
        "the member acknowledged the announcement meanwhile"
    ),
}
# Mail whose text signs the member in: not shown, even with its link hidden.
SIGN_IN_KINDS = frozenset({"login", "invite"})
# A mail waits in these states until its time; "send now" makes it due at once.
WAITING = frozenset({"waiting", "retrying"})


def kind_label(code: str) -> str:
    return str(KIND_LABELS.get(code, code))


def cancel_label(why: str | None) -> str:
    return str(CANCEL_LABELS[why]) if why in CANCEL_LABELS else (why or "")


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "kind_label": kind_label,
        "cancel_label": cancel_label,
        "bounce_kind": lambda b: bounces.reason_kind(b.permanent, b.status, b.diagnostic),
    }


admins_only(bp)


@bp.get("")
def log() -> ResponseReturnValue:
    """Every mail the hub wrote, newest first; filter by state and recipient, 50 a page."""
    state = request.args.get("state") or None
    who = request.args.get("who", "")
    before = request.args.get("before", type=int)
    found = outbox_log.page(get_session(), now=utcnow(), state=state, recipient=who, before=before)
    return render_template(
        "admin/outbox_log.html", page=found, state=state, who=who, before=before,
        states=STATE_LABELS,
    )  # fmt: skip


@bp.get("/<int:mail_id>")
def message(mail_id: int) -> ResponseReturnValue:
    """One mail: its state, recipient, headers and text part (no signed token shown)."""
    db = get_session()
    entry = outbox_log.get_entry(db, mail_id, utcnow()) or abort(404)
    msg = email.message_from_bytes(entry.mail.raw, policy=email.policy.default)
    hide = hider(current_app._get_current_object())  # type: ignore[attr-defined]
    text, withheld = _shown_text(entry, msg, hide)
    return render_template(
        "admin/outbox_message.html",
        e=entry,
        headers=[(k, hide(str(v))) for k, v in msg.items()],
        text=text,
        withheld=withheld,
        can_send_now=entry.state in WAITING and entry.mail.not_before > utcnow(),
    )


def _shown_text(
    entry: outbox_log.Entry, msg: EmailMessage, hide: Callable[[str], str]
) -> tuple[str, str]:
    """The mail's text part with its tokens hidden, or why it is not shown: ``dropped``
    (retention deleted it), ``sign_in`` (its link signs the member in) or ``private`` (it
    quotes a channel the admin may not read)."""
    mail = entry.mail
    if mail.raw_dropped_at is not None:
        return "", "dropped"
    if mail.kind in SIGN_IN_KINDS:
        return "", "sign_in"
    if not outbox_log.readable_by(get_session(), g.user, mail):
        return "", "private"
    part = msg.get_body(("plain",))
    return (hide(part.get_content()) if part is not None else ""), ""


@bp.post("/<int:mail_id>/send-now")
def send_now(mail_id: int) -> ResponseReturnValue:
    """Send a waiting mail at the worker's next run, working hours or not."""
    db = get_session()
    if outbox_log.get_entry(db, mail_id, utcnow()) is None:
        abort(404)
    if outbox_log.send_now(db, mail_id, actor=g.user, now=utcnow()):
        db.commit()
        flash(_("The mail goes out in a moment."), "success")
    else:
        flash(_("This mail is not waiting: it is on its way or done already."), "info")
    return redirect(url_for("outbox_admin.message", mail_id=mail_id), 303)
