"""Pages opened from links in mail, without sign-in: preferences, unsubscribe, attachments.

The signed token in the URL is the capability. Changes are POSTs, never GETs, so mail scanners
that fetch every link change nothing. The one-click unsubscribe POST (RFC 8058) comes from a mail
client, which has no CSRF token: that one view is exempt, as the RFC requires.
"""

from __future__ import annotations

from dataclasses import dataclass

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
from hub.errors import HubError, Invalid, Reason
from hub.models import Channel, Delivery, Membership, User
from hub.services import accounts, attachments, channels, working_time
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


@dataclass(frozen=True, slots=True)
class _Shown:
    """What the preferences form shows: as saved, or as typed when the form was refused."""

    delivery: str
    digest_hour: str
    digest_weekday: str
    echo_own_posts: bool
    timezone: str
    working_days: list[str]
    work_start: str
    work_end: str
    # Channel id -> the delivery chosen for it ("" = as above).
    per_channel: dict[int, str]

    @classmethod
    def saved(cls, user: User, memberships: list[tuple[Membership, Channel]]) -> _Shown:
        return cls(
            delivery=user.delivery or "",
            digest_hour=str(user.digest_hour),
            digest_weekday=str(user.digest_weekday),
            echo_own_posts=user.echo_own_posts,
            timezone=user.timezone,
            working_days=user.working_days.split(","),
            work_start=form_time(user.work_start),
            work_end=form_time(user.work_end),
            per_channel={c.id: m.delivery or "" for m, c in memberships},
        )

    @classmethod
    def typed(cls, saved: _Shown, form: MultiDict[str, str]) -> _Shown:
        """Every field as the refused form sent it (a field an older form lacks as saved)."""
        schedule = "work_start" in form
        return cls(
            delivery=form.get("delivery", saved.delivery),
            digest_hour=form.get("digest_hour", saved.digest_hour),
            digest_weekday=form.get("digest_weekday", saved.digest_weekday),
            echo_own_posts=bool(form.get("echo_own_posts")),
            timezone=form.get("timezone", saved.timezone),
            working_days=form.getlist("working_days") if schedule else saved.working_days,
            work_start=form.get("work_start", "") if schedule else saved.work_start,
            work_end=form.get("work_end", "") if schedule else saved.work_end,
            per_channel={
                cid: form.get(f"channel_{cid}", value) for cid, value in saved.per_channel.items()
            },
        )


@bp.route("/prefs/<token>", methods=["GET", "POST"])
def preferences(token: str) -> ResponseReturnValue:
    """Show and change how and when the member gets mail (the footer link of every mail)."""
    user, _none = signed.member_for(token, "prefs")
    session = get_session()
    posted = request.method == "POST"
    error = _save(session, user, request.form) if posted else None
    memberships = _memberships(user)
    shown = _Shown.saved(user, memberships)
    return render_template(
        "prefs/preferences.html",
        user=user,
        token=token,
        deliveries=list(Delivery),
        memberships=memberships,
        muted=channels.muted_channels(session, user),
        days=working_time.DAYS,
        zones=zones(),
        # A refused form shows every field as typed, not as saved before.
        shown=_Shown.typed(shown, request.form) if error else shown,
        saved=posted and error is None,
        chosen=delivery_words.CHOSEN.get(accounts.effective_delivery(user)),
        error=error,
        field=_field(error),
    ), (422 if error else 200)


# What a refusal's detail begins with -> the form field it is about.
_FIELDS = {
    "delivery": "delivery",
    "digest hour": "digest_hour",
    "digest weekday": "digest_weekday",
    "time zone": "timezone",
    "working days": "working_days",
    "working hours": "work_start",
}


def _field(error: Exception | None) -> str:
    """The name of the form field a refusal is about ("digest_hour", "channel_3"), or ""."""
    what, _sep, rest = str(getattr(error, "detail", None) or "").partition(":")
    if what == "channel":
        return f"channel_{rest.strip()}"
    return _FIELDS.get(what, "")


def _save(session: Session, user: User, form: MultiDict[str, str]) -> Exception | None:
    """Apply the preferences form and commit; the refusal (rolled back) if there is one."""
    try:
        accounts.update_preferences(
            session,
            user,
            delivery=_delivery(form.get("delivery"), "delivery"),
            digest_hour=_number(form.get("digest_hour"), user.digest_hour, "digest hour"),
            digest_weekday=_number(
                form.get("digest_weekday"), user.digest_weekday, "digest weekday"
            ),
            echo_own_posts=bool(form.get("echo_own_posts")),
            timezone=form.get("timezone", user.timezone),
            **_schedule(form),
        )
        for _m, channel in _memberships(user):
            value = form.get(f"channel_{channel.id}")
            if value is not None:
                chosen = _delivery(value, f"channel: {channel.id}")
                channels.set_delivery(session, user=user, channel=channel, delivery=chosen)
    except (HubError, ValueError) as exc:
        session.rollback()
        return exc
    session.commit()
    return None


def _delivery(value: str | None, field: str) -> str | None:
    """A delivery from a select ("" or None: the default); another value names its field."""
    if value and value not in set(Delivery):
        raise Invalid(Reason.INVALID_VALUE, field)
    return value or None


def _number(raw: str | None, saved: int, field: str) -> int:
    """A number from a select (the saved one if the form has no such field)."""
    if raw is None:
        return saved
    try:
        return int(raw)
    except ValueError:
        raise Invalid(Reason.INVALID_VALUE, field) from None


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
