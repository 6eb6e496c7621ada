"""Pages opened from links in mail, without sign-in: preferences, unsubscribe, attachments.

The signed token in the URL is the capability. Changes are POSTs, never GETs, so mail scanners
that fetch every link change nothing. The one-click unsubscribe POST (RFC 8058) comes from a mail
client, which has no CSRF token: that one view is exempt, as the RFC requires.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from itsdangerous import BadSignature
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from hub import delivery_words, tokens
from hub.db import get_session
from hub.errors import HubError
from hub.models import Channel, Delivery, Membership, User
from hub.services import accounts, attachments, channels
from hub.web import csrf, signed
from hub.web.settings import form_time, typed_hours, zones

bp = Blueprint("mailprefs", __name__, url_prefix="/mail")


def _memberships(user: User) -> list[tuple[Membership, Channel]]:
    stmt = (
        select(Membership, Channel)
        .join(Channel, Membership.channel_id == Channel.id)
        .where(Membership.user_id == user.id)
        .order_by(Channel.name)
    )
    return [(m, c) for m, c in get_session().execute(stmt)]


@bp.route("/prefs/<token>", methods=["GET", "POST"])
def preferences(token: str) -> ResponseReturnValue:
    """Show and change how and when the member gets mail (the footer link of every mail)."""
    user, _none = signed.member_for(token, "prefs")
    session = get_session()
    posted = request.method == "POST"
    error = _save(session, user, request.form) if posted else None
    # A refused form shows the days and hours as typed, not as saved before.
    typed = request.form if error is not None and "work_start" in request.form else None
    saved_hours = {"work_start": form_time(user.work_start), "work_end": form_time(user.work_end)}
    return render_template(
        "prefs/preferences.html",
        user=user,
        token=token,
        deliveries=list(Delivery),
        memberships=_memberships(user),
        muted=channels.muted_channels(session, user),
        days=accounts.DAYS,
        zones=zones(),
        chosen_zone=request.form.get("timezone", user.timezone) if error else user.timezone,
        chosen_days=typed.getlist("working_days") if typed else user.working_days.split(","),
        saved=posted and error is None,
        chosen=delivery_words.CHOSEN.get(accounts.effective_delivery(user)),
        error=error,
        **({k: typed.get(k, "") for k in saved_hours} if typed else saved_hours),
    ), (422 if error else 200)


def _save(session: Session, user: User, form: MultiDict[str, str]) -> Exception | None:
    """Apply the preferences form and commit; the refusal (rolled back) if there is one."""
    try:
        accounts.update_preferences(
            session,
            user,
            delivery=form.get("delivery") or None,
            digest_hour=form.get("digest_hour", user.digest_hour),
            digest_weekday=form.get("digest_weekday", user.digest_weekday),
            echo_own_posts=bool(form.get("echo_own_posts")),
            timezone=form.get("timezone", user.timezone),
            **_schedule(form),
        )
        for _m, channel in _memberships(user):
            value = form.get(f"channel_{channel.id}")
            if value is not None:
                channels.set_delivery(session, user=user, channel=channel, delivery=value or None)
    except (HubError, ValueError) as exc:
        session.rollback()
        return exc
    session.commit()
    return None


def _schedule(form: MultiDict[str, str]) -> dict[str, str]:
    """The working days and hours a preferences form sent (an older form sends neither)."""
    found: dict[str, str] = {}
    if "work_start" in form or "work_end" in form:
        found["working_hours"] = typed_hours(form)
        found["working_days"] = ",".join(form.getlist("working_days"))
    return found


@bp.post("/prefs/<token>/unmute/<int:channel_id>")
def unmute(token: str, channel_id: int) -> ResponseReturnValue:
    """Let a channel muted from outside mail the member again (a button on the preferences)."""
    user, _none = signed.member_for(token, "prefs")
    session = get_session()
    channel = session.get(Channel, channel_id)
    # Only the member's own mute can go: any other id changes nothing and names nothing.
    if channel is not None and channels.unmute(session, user=user, channel=channel):
        session.commit()
        flash(_("Unmuted: mail from that channel reaches you again."), "success")
    return redirect(url_for("mailprefs.preferences", token=token) + "#muted", 303)


def _target(user: User, channel_id: int) -> Channel | None:
    if not channel_id or channel_id == tokens.DIGEST:
        return None
    return get_session().get(Channel, channel_id)


@bp.get("/unsubscribe/<token>")
def unsubscribe_confirm(token: str) -> ResponseReturnValue:
    """A GET only asks: link scanners must not unsubscribe anyone."""
    user, channel_id = signed.member_for(token, "unsubscribe")
    return render_template(
        "prefs/unsubscribe.html",
        user=user,
        channel=_target(user, channel_id),
        digest=channel_id == tokens.DIGEST,
        token=token,
    )


@bp.post("/unsubscribe/<token>")
@csrf.exempt
def unsubscribe(token: str) -> ResponseReturnValue:
    """RFC 8058 one-click (body ``List-Unsubscribe=One-Click``) or the confirm page's button."""
    user, channel_id = signed.member_for(token, "unsubscribe")
    session = get_session()
    channel = _target(user, channel_id)
    if channel is not None:
        try:
            # A member's delivery goes off; someone outside gets a mute, not a membership.
            channels.mute(session, user=user, channel=channel)
        except HubError:
            # The member can no longer read the channel: there is nothing left to stop.
            pass
    elif channel_id == tokens.DIGEST:
        # The digest stops; mentions and replies still come (as mailing "digest off" does).
        accounts.update_preferences(session, user, delivery=Delivery.MENTIONS)
    else:
        accounts.update_preferences(session, user, delivery=Delivery.OFF)
    session.commit()
    return render_template(
        "prefs/unsubscribed.html",
        user=user,
        channel=channel,
        digest=channel_id == tokens.DIGEST,
        prefs_url=url_for(
            "mailprefs.preferences", token=tokens.prefs_token(current_app.config, user.id)
        ),
    )


@bp.get("/file/<signed>/<path:filename>")
def attachment(signed: str, filename: str) -> ResponseReturnValue:
    """An attachment linked from a mail: the link names the member, whose access is checked now."""
    try:
        user_id, attachment_id = tokens.attachment_signer(current_app.config).loads(signed)
    except (BadSignature, ValueError, TypeError):
        abort(404)
    session = get_session()
    user = session.get(User, int(user_id))
    if user is None or not user.active:
        abort(404)
    found = attachments.get_readable(session, int(attachment_id), viewer=user)
    limits = attachments.Limits.from_config(current_app.config)
    response = send_file(
        attachments.path_for(limits.root, found.sha256),
        mimetype=found.content_type,
        as_attachment=not attachments.is_inline(found),
        download_name=found.filename,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
