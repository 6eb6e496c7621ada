"""Admin member pages: list, invite, CSV import (preview first), role, email-only, deactivate,
mail stopped for bouncing (why, and starting it again)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.db import get_session
from hub.errors import Forbidden, Invalid, Reason
from hub.i18n import honorific
from hub.models import User
from hub.services import accounts, bounces, member_import, onboarding
from hub.web.admin_only import admins_only

bp = Blueprint("admin_members", __name__, url_prefix="/admin/members")


admins_only(bp)


def _list_page(status: int = 200, **extra: object) -> ResponseReturnValue:
    db = get_session()
    extra.setdefault("form", {})
    users = accounts.list_users(db)
    # Why a member's mail stopped, or that it bounced lately: the last bounce, its date, days.
    notes = bounces.notes(db, users, bounces.Policy.from_config(current_app.config))
    return render_template(
        "admin/members.html", users=users, bounce_notes=notes,
        joined=onboarding.default_channels(db), **extra,
    ), status  # fmt: skip


@bp.get("")
def index() -> ResponseReturnValue:
    return _list_page()


def _start() -> onboarding.Start:
    return onboarding.start_from_config(current_app.config)


@bp.post("/invite")
def invite() -> ResponseReturnValue:
    """Add a member by address, in the channels every new member joins; the mail bridge sends
    the invitation (a web member's with a sign-in link; an email-only member's welcome mail)."""
    form = request.form
    db = get_session()
    try:
        user = onboarding.add_member(
            db,
            actor=g.user,
            start=_start(),
            email=form.get("email", ""),
            name=form.get("name", ""),
            email_only=bool(form.get("email_only")),
            locale=form.get("locale", "ja"),
        )
    except Invalid as exc:
        db.rollback()
        return _list_page(422, invite_error=exc, form=form)
    db.commit()
    flash(_("%(name)s is invited.", name=honorific(user.name)), "success")
    return redirect(url_for("admin_members.index"), 303)


def _member(user_id: int) -> User:
    return accounts.get_user(get_session(), user_id)


@bp.post("/<int:user_id>/role")
def role(user_id: int) -> ResponseReturnValue:
    db = get_session()
    user = _member(user_id)
    new_role = request.form.get("role", "")
    if user.id == g.user.id and new_role != "admin":
        raise Forbidden(Reason.FORBIDDEN, "an admin cannot step down themselves")
    accounts.set_role(db, user, new_role, actor=g.user)
    db.commit()
    return redirect(url_for("admin_members.index") + f"#member-{user.id}", 303)


@bp.post("/<int:user_id>/email-only")
def email_only(user_id: int) -> ResponseReturnValue:
    db = get_session()
    user = _member(user_id)
    accounts.set_email_only(db, user, request.form.get("email_only") == "1", actor=g.user)
    db.commit()
    return redirect(url_for("admin_members.index") + f"#member-{user.id}", 303)


@bp.post("/<int:user_id>/active")
def active(user_id: int) -> ResponseReturnValue:
    """Deactivate (no sign-in, no posting, no mail by any door) or reactivate a member."""
    db = get_session()
    user = _member(user_id)
    if request.form.get("active") == "1":
        accounts.reactivate(db, user, actor=g.user)
    else:
        if user.id == g.user.id:
            raise Forbidden(Reason.FORBIDDEN, "an admin cannot deactivate themselves")
        accounts.deactivate(db, user, actor=g.user)
    db.commit()
    return redirect(url_for("admin_members.index") + f"#member-{user.id}", 303)


@bp.post("/<int:user_id>/bouncing")
def unbounce(user_id: int) -> ResponseReturnValue:
    """Send a member mail again after their address bounced (they fixed their mailbox), and
    count their bounces from now."""
    db = get_session()
    user = _member(user_id)
    was = bounces.clear_bouncing(db, user, actor=g.user)
    db.commit()
    if was:
        flash(_("Mail to %(name)s starts again.", name=honorific(user.name)), "success")
    return redirect(url_for("admin_members.index") + f"#member-{user.id}", 303)


@bp.get("/import")
def import_form() -> ResponseReturnValue:
    return render_template("admin/import.html", csv_text="", rows=None)


@bp.post("/import")
def import_csv() -> ResponseReturnValue:
    """Preview (a dry run with per-row errors), then confirm to add the rows without errors."""
    upload = request.files.get("file")
    if upload and upload.filename:
        csv_text = member_import.decode_csv(upload.read())
    else:
        csv_text = request.form.get("csv", "")
    db = get_session()
    confirm = request.form.get("action") == "confirm"
    rows = member_import.import_csv(db, csv_text, dry_run=not confirm, actor=g.user, start=_start())
    if not confirm:
        db.rollback()
        return render_template("admin/import.html", csv_text=csv_text, rows=rows)
    db.commit()
    # The page's notice says how many were added (a flash as well said it twice).
    return render_template("admin/import.html", csv_text="", rows=rows, done=True)
