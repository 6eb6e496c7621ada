"""A channel's settings page, for its owners and the admins: name, purpose and kind (never the
address), open a private channel to everyone, archive and unarchive."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from hub import permissions
from hub.db import get_session
from hub.errors import Invalid
from hub.models import Channel, Via
from hub.services import channel_settings
from hub.web.htmx import htmx_redirect

bp = Blueprint("channel_settings", __name__)

# A change of hub.services.channel_settings (open, archive, unarchive) and what it says when done.
Change = Callable[..., None]
Done = Callable[[str], str]


def _page(channel: Channel, status: int = 200, **extra: object) -> ResponseReturnValue:
    extra.setdefault("form", {"name": channel.name, "purpose": channel.purpose,
                              "kind": str(channel.kind)})  # fmt: skip
    return render_template(
        "channels/settings.html", channel=channel, live=channel.status in channel_settings.LIVE,
        archivable=channel_settings.archivable(channel),
        can_read=permissions.can_read(get_session(), g.user, channel), **extra,
    ), status  # fmt: skip


def _done(channel: Channel, message: str) -> ResponseReturnValue:
    get_session().commit()
    flash(message, "success")
    return htmx_redirect(url_for("channel_settings.edit", slug=channel.slug))


@bp.get("/c/<slug>/settings")
@login_required
def edit(slug: str) -> ResponseReturnValue:
    """The form, filled with what the channel says now."""
    return _page(channel_settings.get_channel_to_change(get_session(), slug, actor=g.user))


@bp.post("/c/<slug>/settings")
@login_required
def save(slug: str) -> ResponseReturnValue:
    """Save the name, purpose and kind; a refused form comes back as typed, with the reason."""
    db = get_session()
    channel = channel_settings.get_channel_to_change(db, slug, actor=g.user)
    form = request.form
    try:
        changed = channel_settings.update_channel(
            db, channel=channel, actor=g.user, via=Via.WEB, name=form.get("name", ""),
            purpose=form.get("purpose", ""), kind=form.get("kind", ""),
        )  # fmt: skip
    except Invalid as exc:
        db.rollback()
        return _page(channel, 422, form=form, error=exc)
    return _done(channel, _("Saved.") if changed else _("Nothing was changed."))


@bp.post("/c/<slug>/open")
@login_required
def open_channel(slug: str) -> ResponseReturnValue:
    """Open a private channel to everyone (the page warns first)."""
    return _change(
        slug,
        channel_settings.open_channel,
        lambda c: _("%(channel)s is now open to everyone.", channel=c),
    )


@bp.post("/c/<slug>/archive")
@login_required
def archive(slug: str) -> ResponseReturnValue:
    """Archive: still readable, no new posts."""
    return _change(
        slug, channel_settings.archive_channel, lambda c: _("%(channel)s is archived.", channel=c)
    )


@bp.post("/c/<slug>/unarchive")
@login_required
def unarchive(slug: str) -> ResponseReturnValue:
    """Take posts again."""
    return _change(
        slug,
        channel_settings.unarchive_channel,
        lambda c: _("%(channel)s takes posts again.", channel=c),
    )


@bp.post("/c/<slug>/new-members")
@login_required
def new_members(slug: str) -> ResponseReturnValue:
    """Admins: make every new member join this open channel, or no longer."""
    join = request.form.get("new_members_join") == "1"
    return _change(
        slug,
        lambda db, **kw: channel_settings.set_new_members_join(db, join=join, **kw),
        lambda c: (
            _("Every new member now joins %(channel)s.", channel=c)
            if join
            else _("New members no longer join %(channel)s.", channel=c)
        ),
    )


def _change(slug: str, action: Change, done: Done) -> ResponseReturnValue:
    db = get_session()
    channel = channel_settings.get_channel_to_change(db, slug, actor=g.user)
    try:
        action(db, channel=channel, actor=g.user, via=Via.WEB)
    except Invalid as exc:
        # Already done (a second click, another owner first) or not live: said on the page.
        db.rollback()
        return _page(channel, 422, error=exc)
    return _done(channel, done(channel.name))
