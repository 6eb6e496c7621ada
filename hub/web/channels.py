"""Channels: the list, one channel with its purpose and threads, create, join and leave, and
who belongs (the members page: owners of a private channel and admins add and remove; a
channel's owners and admins make members owners)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from hub import permissions
from hub.db import get_session
from hub.errors import Forbidden, Invalid
from hub.i18n import honorific
from hub.models import Channel, ChannelKind, Thread, Via
from hub.services import accounts, channel_creation, channel_settings, channels, thread_pages
from hub.services import members as members_service
from hub.web.blueprints import MAX_ID
from hub.web.htmx import htmx_redirect, is_htmx, page_or_partial

bp = Blueprint("channels", __name__)

THREADS_PER_PAGE = 20


def mail_address(channel: Channel) -> str:
    """The address that starts a thread in ``channel`` by mail."""
    return f"{channel.slug}@{current_app.config['MAIL_DOMAIN']}"


@bp.app_context_processor
def _helpers() -> dict[str, object]:
    return {"channel_address": mail_address}


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """Every channel the member may read: work first, social last, private ones with a lock."""
    db = get_session()
    rows = [channels.channel_as_dict(db, c) for c in channels.list_channels(db, viewer=g.user)]
    joined = set(channels.joined_channel_ids(db, g.user))
    return render_template("channels/index.html", rows=rows, joined=joined)


def _parse_before(raw: str | None) -> tuple[str, int] | None:
    if not raw or "," not in raw:
        return None
    at, _, ident = raw.rpartition(",")
    try:
        datetime.fromisoformat(at)
        ident_value = int(ident)
    except ValueError:
        abort(400)
    if not 0 <= ident_value <= MAX_ID:
        abort(400)
    return at, ident_value


def _thread_page(channel: Channel, before: tuple[str, int] | None) -> dict[str, object]:
    db = get_session()
    page = thread_pages.list_threads(db, channel, before=before, limit=THREADS_PER_PAGE + 1)
    more = len(page) > THREADS_PER_PAGE
    page = page[:THREADS_PER_PAGE]
    older = None
    if more:
        last: Thread = page[-1]
        older = url_for(
            "channels.show", slug=channel.slug, before=f"{last.last_post_at.isoformat()},{last.id}"
        )
    counts = thread_pages.post_counts(db, [t.id for t in page])
    return {"threads": page, "older": older, "counts": counts}


@bp.get("/c/<slug>")
@login_required
def show(slug: str) -> ResponseReturnValue:
    """A channel: its purpose first, its mail address, then threads newest first (keyset)."""
    db = get_session()
    channel = channels.get_visible_channel(db, slug, viewer=g.user)
    page = _thread_page(channel, _parse_before(request.args.get("before")))
    context: dict[str, Any] = {
        "channel": channel,
        "info": channels.channel_as_dict(db, channel),
        "is_member": permissions.is_member(db, g.user, channel),
        "can_post": permissions.can_post(db, g.user, channel),
        "can_change": channel_settings.can_change(db, g.user, channel),
        **page,
    }
    if request.args.get("before"):
        return page_or_partial("channels/show.html", "channels/_thread_list.html", **context)
    return render_template("channels/show.html", **context)


@bp.get("/channels/new")
@login_required
def new() -> ResponseReturnValue:
    return render_template("channels/new.html", form={"kind": "work"})


@bp.post("/channels/new")
@login_required
def create() -> ResponseReturnValue:
    """Create a channel; a refused form comes back with what was typed and why."""
    form = request.form
    db = get_session()
    try:
        channel = channel_creation.create_channel(
            db,
            slug=form.get("slug", ""),
            name=form.get("name", ""),
            purpose=form.get("purpose", ""),
            kind=ChannelKind.SOCIAL if form.get("kind") == "social" else ChannelKind.WORK,
            private=bool(form.get("private")),
            reason=form.get("reason", ""),
            creator=g.user,
            new_members_join=bool(form.get("new_members_join")),
        )
    except (Invalid, Forbidden) as exc:
        db.rollback()
        return render_template("channels/new.html", form=form, error=exc), 422
    db.commit()
    return htmx_redirect(url_for("channels.show", slug=channel.slug))


def _membership_answer(channel: Channel) -> ResponseReturnValue:
    db = get_session()
    if not permissions.can_read(db, g.user, channel):
        # Leaving a private channel: its page is no longer there for this member.
        return htmx_redirect(url_for("channels.index"))
    if is_htmx():
        return page_or_partial(
            "channels/show.html",
            "channels/_join_button.html",
            channel=channel,
            info=channels.channel_as_dict(db, channel),
            is_member=permissions.is_member(db, g.user, channel),
        )
    return htmx_redirect(url_for("channels.show", slug=channel.slug))


@bp.post("/c/<slug>/join")
@login_required
def join(slug: str) -> ResponseReturnValue:
    db = get_session()
    channel = channels.get_visible_channel(db, slug, viewer=g.user)
    channels.join(db, user=g.user, channel=channel)
    db.commit()
    return _membership_answer(channel)


@bp.post("/c/<slug>/leave")
@login_required
def leave(slug: str) -> ResponseReturnValue:
    db = get_session()
    channel = channels.get_visible_channel(db, slug, viewer=g.user)
    try:
        channels.leave(db, user=g.user, channel=channel)
    except Invalid:
        db.rollback()
        return _leave_refused(channel)
    db.commit()
    return _membership_answer(channel)


def _leave_refused(channel: Channel) -> ResponseReturnValue:
    """The last owner stays while others remain: say so next to the button, or in a flash."""
    message = _(
        "You are the last owner of %(channel)s. Make another member owner on the members page "
        "before you leave.",
        channel=channel.name,
    )
    if is_htmx():
        return page_or_partial(
            "channels/show.html",
            "channels/_join_button.html",
            channel=channel,
            info=channels.channel_as_dict(get_session(), channel),
            is_member=True,
            leave_error=message,
        )
    flash(message, "error")
    return htmx_redirect(url_for("channels.show", slug=channel.slug))


def _members_page(channel: Channel, status: int = 200, **extra: object) -> ResponseReturnValue:
    db = get_session()
    members = members_service.list_members(db, channel)
    can_manage = channels.can_manage_members(db, g.user, channel)
    can_set_roles = channels.can_set_roles(db, g.user, channel)
    inside = {m.user_id for m in members}
    others = [u for u in accounts.list_users(db, include_inactive=False) if u.id not in inside]
    owners = sum(1 for m in members if m.role == "owner")
    extra.setdefault("typed", "")
    return render_template(
        "channels/members.html",
        channel=channel,
        members=members,
        can_manage=can_manage,
        can_set_roles=can_set_roles,
        candidates=others if can_manage else [],
        owners=owners,
        can_read=permissions.can_read(db, g.user, channel),
        **extra,
    ), status


@bp.get("/c/<slug>/members")
@login_required
def members(slug: str) -> ResponseReturnValue:
    """Who belongs to a channel, with their role; its managers add and remove members here."""
    channel = members_service.get_member_list_channel(get_session(), slug, viewer=g.user)
    return _members_page(channel)


@bp.post("/c/<slug>/members")
@login_required
def add_member(slug: str) -> ResponseReturnValue:
    """Add a member by address; a refused address comes back in the form with the reason."""
    db = get_session()
    channel = members_service.get_member_list_channel(db, slug, viewer=g.user)
    typed = request.form.get("email", "")
    try:
        added = members_service.add_member_by_email(
            db, channel=channel, email=typed, actor=g.user, via=Via.WEB
        )
    except Invalid as exc:
        db.rollback()
        return _members_page(channel, 422, error=exc, typed=typed)
    name = honorific(added.user.name)
    db.commit()
    flash(_("%(name)s was added to %(channel)s.", name=name, channel=channel.name), "success")
    return htmx_redirect(url_for("channels.members", slug=channel.slug))


@bp.post("/c/<slug>/members/<int:user_id>/remove")
@login_required
def remove_member(slug: str, user_id: int) -> ResponseReturnValue:
    """Take a member out; leaving yourself out of a private channel takes you to the list."""
    db = get_session()
    channel = members_service.get_member_list_channel(db, slug, viewer=g.user)
    user = accounts.get_user(db, user_id)
    try:
        members_service.remove_member(db, user=user, channel=channel, actor=g.user, via=Via.WEB)
    except Invalid as exc:
        db.rollback()
        return _members_page(channel, 422, error=exc)
    db.commit()
    name = honorific(user.name)
    flash(_("%(name)s was removed from %(channel)s.", name=name, channel=channel.name), "success")
    if not members_service.can_see_members(db, g.user, channel):
        return htmx_redirect(url_for("channels.index"))
    return htmx_redirect(url_for("channels.members", slug=channel.slug))


@bp.post("/c/<slug>/members/<int:user_id>/role")
@login_required
def set_role(slug: str, user_id: int) -> ResponseReturnValue:
    """Make a member an owner, or an owner a plain member; the last owner stays an owner."""
    db = get_session()
    channel = members_service.get_member_list_channel(db, slug, viewer=g.user)
    user = accounts.get_user(db, user_id)
    role = request.form.get("role", "")
    try:
        members_service.set_role(
            db, user=user, channel=channel, role=role, actor=g.user, via=Via.WEB
        )
    except Invalid as exc:
        db.rollback()
        return _members_page(channel, 422, error=exc, about="role")
    db.commit()
    name = honorific(user.name)
    if role == "owner":
        done = _("%(name)s is now an owner of %(channel)s.", name=name, channel=channel.name)
    else:
        done = _("%(name)s is no longer an owner of %(channel)s.", name=name, channel=channel.name)
    flash(done, "success")
    return htmx_redirect(url_for("channels.members", slug=channel.slug))
