"""The member's own settings: profile, language, time and mail preferences, password."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from hub import delivery_words
from hub.db import get_session
from hub.errors import Invalid, Reason
from hub.models import Channel, Delivery, Membership, User
from hub.services import accounts, channels, working_time
from hub.web import auth

bp = Blueprint("settings", __name__)


@lru_cache(maxsize=1)
def zones() -> list[str]:
    """The time zones a member can choose (Area/City names)."""
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))


def _memberships() -> list[tuple[Membership, Channel]]:
    stmt = (
        select(Membership, Channel)
        .join(Channel, Membership.channel_id == Channel.id)
        .where(Membership.user_id == g.user.id)
        .order_by(Channel.name)
    )
    return [(m, c) for m, c in get_session().execute(stmt)]


class _Typed:
    """The profile form as the member typed it, read like the member: a refused form shows
    what was typed, not what was saved before."""

    def __init__(self, user: User, form: MultiDict[str, str]) -> None:
        self.email = user.email
        self.name = form.get("name", user.name)
        self.locale = form.get("locale", user.locale)
        self.timezone = form.get("timezone", user.timezone)
        hour = form.get("digest_hour", "")
        self.digest_hour = int(hour) if hour.isdigit() else user.digest_hour
        day = form.get("digest_weekday", "")
        self.digest_weekday = int(day) if day.isdigit() else user.digest_weekday
        self.delivery = form.get("delivery") or None
        self.working_days = ",".join(form.getlist("working_days"))


def _page(
    status: int = 200, *, shown: User | _Typed | None = None, **extra: object
) -> ResponseReturnValue:
    user = g.user
    shown = shown or user
    return render_template(
        "settings/index.html",
        user=shown,
        zones=zones(),
        deliveries=list(Delivery),
        email_only=user.email_only,
        days=working_time.DAYS,
        chosen_days=shown.working_days.split(","),
        memberships=_memberships(),
        muted=channels.muted_channels(get_session(), user),
        **extra,
    ), status


def form_time(minutes: int) -> str:
    """A time for an ``<input type=time>``: midnight at the end of the day (24:00) is 00:00."""
    minutes %= 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def typed_hours(form: MultiDict[str, str]) -> str:
    """The working hours the form's two times give, as ``working_time.parse_working_hours`` reads
    them: an end of 00:00 is midnight (00:00 to 00:00 is all day, 00:00-24:00); an end before
    the start is the next morning (a night shift)."""
    start, end = form.get("work_start", ""), form.get("work_end", "")
    return f"{start}-{'24:00' if end == '00:00' else end}"


@bp.get("/settings")
@login_required
def index() -> ResponseReturnValue:
    return _page(work_start=form_time(g.user.work_start), work_end=form_time(g.user.work_end))


@bp.post("/settings")
@login_required
def save() -> ResponseReturnValue:
    """Save profile, language, time zone, working days and hours, digest hour, delivery."""
    form = request.form
    db = get_session()
    start, end = form.get("work_start", ""), form.get("work_end", "")
    try:
        accounts.update_preferences(
            db,
            g.user,
            name=form.get("name", ""),
            locale=form.get("locale", g.user.locale),
            timezone=form.get("timezone", g.user.timezone),
            working_days=",".join(form.getlist("working_days")),
            working_hours=typed_hours(form),
            digest_hour=_digit(form.get("digest_hour", str(g.user.digest_hour)), "digest hour"),
            digest_weekday=_digit(
                form.get("digest_weekday", str(g.user.digest_weekday)), "digest weekday"
            ),
            delivery=form.get("delivery") or None,
        )
    except Invalid as exc:
        db.rollback()
        return _page(422, shown=_Typed(g.user, form), error=exc, work_start=start, work_end=end)
    db.commit()
    flash(_("Your settings are saved."), "success")
    chosen = delivery_words.CHOSEN.get(accounts.effective_delivery(g.user))
    if chosen:
        flash(_(chosen), "success")
    return redirect(url_for("settings.index"), 303)


def _digit(raw: str, field: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise Invalid(Reason.INVALID_VALUE, field) from None


@bp.post("/settings/channels")
@login_required
def channel_delivery() -> ResponseReturnValue:
    """Per-channel mail overrides: every post, digests, mentions only, off, or the default."""
    db = get_session()
    try:
        for membership, channel in _memberships():
            value = request.form.get(f"delivery-{channel.id}")
            if value is None:
                continue
            if value and value not in set(Delivery):
                raise Invalid(Reason.INVALID_VALUE, "delivery")
            if (membership.delivery or "") != value:
                channels.set_delivery(db, user=g.user, channel=channel, delivery=value or None)
    except Invalid as exc:
        db.rollback()
        return _page(422, error=exc, work_start=form_time(g.user.work_start),
                     work_end=form_time(g.user.work_end))  # fmt: skip
    db.commit()
    flash(_("Your channel mail settings are saved."), "success")
    return redirect(url_for("settings.index") + "#channels", 303)


@bp.post("/settings/muted/<int:channel_id>/unmute")
@login_required
def unmute(channel_id: int) -> ResponseReturnValue:
    """Let a channel muted from outside mail the member again."""
    db = get_session()
    channel = db.get(Channel, channel_id)
    # Only the member's own mute can go: any other id changes nothing and names nothing.
    if channel is not None and channels.unmute(db, user=g.user, channel=channel):
        db.commit()
        flash(_("Unmuted: mail from that channel reaches you again."), "success")
    return redirect(url_for("settings.index") + "#muted", 303)


@bp.post("/settings/password")
@login_required
def password() -> ResponseReturnValue:
    """Set a first password, or change it (the current one is asked for)."""
    form = request.form
    db = get_session()
    user = g.user
    hours: dict[str, Any] = {
        "work_start": form_time(user.work_start),
        "work_end": form_time(user.work_end),
    }
    if user.password_hash and not accounts.check_password(user, form.get("current", "")):
        return _page(422, password_error=_("The current password is not right."), **hours)
    if form.get("new", "") != form.get("confirm", ""):
        return _page(422, password_error=_("The two new passwords differ."), **hours)
    try:
        accounts.set_password(user, form.get("new", ""))
    except Invalid:
        return _page(422, password_error=_("Use at least 8 characters."), **hours)
    db.commit()
    auth.keep_signed_in(user)
    flash(_("Your password is saved."), "success")
    return redirect(url_for("settings.index") + "#password", 303)
