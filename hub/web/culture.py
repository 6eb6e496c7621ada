"""Culture on the web: rules and first-visit guide, thanks, flags, moderation, governance.

Signed-in web members who have not accepted the rules (the default text until an admin writes
their own; the current version, once an admin asked everyone again) are sent to the rules page
first (``before_app_request``), and after their first acceptance to the guide, both keeping
where they were going; email-only members accept by replying to their welcome mail (or to the
mail that tells them the rules were updated).
"""

from __future__ import annotations

from datetime import date

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
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import tokens
from hub.db import get_session, utcnow
from hub.errors import HubError, Invalid
from hub.models import Channel, CompanyValue, Post, Thanks, User, Via
from hub.services import accounts, governance, moderation, threads
from hub.services import rules as rules_service
from hub.services import thanks as thanks_service
from hub.text import render_markdown
from hub.web import signed
from hub.web.announcements import require_admin
from hub.web.auth import safe_next
from hub.web.htmx import current_page, whole_page_redirect

bp = Blueprint("culture", __name__)

# Pages a member who has not accepted the rules may still open.
OPEN_ENDPOINTS = frozenset({
    "culture.rules", "culture.accept_rules", "culture.flag_link", "culture.flag_link_post",
    "culture.thanks_value_link", "culture.thanks_value_link_post", "static",
    "announcements.link", "announcements.link_ack",
})  # fmt: skip


@bp.before_app_request
def _ask_rules_first() -> ResponseReturnValue | None:
    """Send a signed-in web member to the rules page until they accept it."""
    endpoint = request.endpoint or ""
    if endpoint in OPEN_ENDPOINTS or endpoint.startswith("auth.") or endpoint.endswith("logout"):
        return None
    if not current_user or not current_user.is_authenticated or current_user.email_only:
        return None
    if not rules_service.must_accept(get_session(), current_user):
        return None
    # A poll or another fragment sends the whole tab there once (not the rules page into the
    # fragment's place every few seconds), and back to the page it was on.
    return whole_page_redirect(url_for("culture.rules", next=current_page()), 303)


def _db() -> Session:
    return get_session()


@bp.get("/rules")
def rules() -> ResponseReturnValue:
    """The usage rules, with an accept button for signed-in members who have not yet (or not
    this version: the form says which version the member read)."""
    version = rules_service.current_version(_db())
    accepted = current_user.is_authenticated and rules_service.has_accepted(current_user, version)
    # Asked again: what changed since the version they accepted.
    changes = (
        rules_service.changes_since(_db(), current_user.rules_version)
        if current_user.is_authenticated and current_user.rules_accepted_at and not accepted
        else None
    )
    return render_template(
        "culture/rules.html", rules_html=render_markdown(_rules_text()), version=version,
        accepted=accepted, changes=changes, next=request.args.get("next"),
    )  # fmt: skip


@bp.post("/rules/accept")
@login_required
def accept_rules() -> ResponseReturnValue:
    """Accept the version read; the first time on to the guide, after that back on the way
    (the guide's button goes there in turn)."""
    db = _db()
    first = g.user.rules_accepted_at is None
    read = request.form.get("version", "")
    rules_service.accept_rules(db, g.user, Via.WEB, version=int(read) if read.isdigit() else None)
    db.commit()
    going = safe_next(request.form.get("next"))
    if first:
        return redirect(url_for("culture.guide", next=going or None), 303)
    return redirect(going or url_for("culture.rules"), 303)


@bp.get("/guide")
@login_required
def guide() -> ResponseReturnValue:
    """The first-visit guide: what goes where, and the mail doors; its button goes on to where
    the member was going when the rules stopped them (``next``), else to the channels."""
    db = _db()
    chans = db.scalars(select(Channel).where(Channel.private.is_(False)).order_by(Channel.name))
    going = safe_next(request.args.get("next"), url_for("channels.index"))
    return render_template("culture/guide.html", channels=list(chans),
                           domain=current_app.config["MAIL_DOMAIN"], next=going)  # fmt: skip


@bp.route("/admin/rules", methods=["GET", "POST"])
@login_required
def admin_rules() -> ResponseReturnValue:
    require_admin()
    db = _db()
    if request.method == "POST":
        rules_service.set_rules(db, actor=g.user, markdown=request.form.get("markdown", ""),
                                ask_again=bool(request.form.get("ask_again")))  # fmt: skip
        db.commit()
        # Back to this page (its counts of who has accepted), saying it was saved.
        flash(_("Saved."), "success")
        return redirect(url_for("culture.admin_rules"), 303)
    # The form starts with exactly what members read now (the default text until saved).
    return render_template("culture/admin_rules.html", markdown=_rules_text(),
                           overview=rules_service.overview(db))  # fmt: skip


def _rules_text() -> str:
    """The rules members read, the default in the hub's default language until an admin's."""
    return rules_service.get_rules(_db(), current_app.config["BABEL_DEFAULT_LOCALE"])


# --- thanks ------------------------------------------------------------------------------


@bp.get("/thanks")
@login_required
def thanks_feed() -> ResponseReturnValue:
    """The thanks feed, counts per value, and the form to thank colleagues."""
    chosen = [x for x in request.args.getlist("to") if x.isdigit()]
    return _thanks_page(chosen=chosen)


def _thanks_page(
    *, chosen: list[str], message: str = "", value_id: str = "", error: HubError | None = None
) -> ResponseReturnValue:
    db = _db()
    members = [u for u in accounts.list_users(db, include_inactive=False) if u.id != g.user.id]
    page = render_template(
        "culture/thanks.html", cards=thanks_service.feed(db), members=members,
        values=thanks_service.list_values(db), counts=thanks_service.counts_per_value(db),
        chosen={int(x) for x in chosen}, message=message, value_id=value_id, error=error,
    )  # fmt: skip
    return page, (422 if error is not None else 200)


@bp.post("/thanks")
@login_required
def send_thanks() -> ResponseReturnValue:
    """Send a thanks card; a refused form comes back with what was typed and why."""
    db = _db()
    chosen = [x for x in request.form.getlist("recipients") if x.isdigit()]
    receivers = [u for u in (db.get(User, int(i)) for i in chosen) if u is not None]
    vid = request.form.get("value_id", "")
    value = db.get(CompanyValue, int(vid)) if vid.isdigit() else None
    message = request.form.get("message", "")
    try:
        thanks_service.send(
            db, sender=g.user, recipients=receivers, message=message, value=value, via=Via.WEB
        )
    except HubError as exc:
        db.rollback()
        return _thanks_page(chosen=chosen, message=message, value_id=vid, error=exc)
    db.commit()
    return redirect(url_for("culture.thanks_feed"), 303)


@bp.get("/thanks/member/<int:user_id>")
@login_required
def member_thanks(user_id: int) -> ResponseReturnValue:
    """A member's profile thanks: cards received."""
    db = _db()
    member = accounts.get_user(db, user_id)
    return render_template("culture/member_thanks.html", member=member,
                           cards=thanks_service.received_by(db, member))  # fmt: skip


def _value_link(card_id: int, value_id: int, token: str) -> tuple[Thanks, CompanyValue]:
    found = tokens.read(token, tokens.keys_from_config(current_app.config))
    if found is None or found.kind != "thanks_value" or found.target_id != card_id:
        abort(404)
    db = _db()
    card, value = db.get(Thanks, card_id), db.get(CompanyValue, value_id)
    if card is None or value is None or card.sender_id != found.user_id:
        abort(404)
    return card, value


@bp.get("/thanks/<int:card_id>/value/<int:value_id>/<token>")
def thanks_value_link(card_id: int, value_id: int, token: str) -> ResponseReturnValue:
    """Confirm page for choosing a card's value from the mail (a GET changes nothing)."""
    card, value = _value_link(card_id, value_id, token)
    return render_template("culture/thanks_value.html", card=card, value=value, done=False)


@bp.post("/thanks/<int:card_id>/value/<int:value_id>/<token>")
def thanks_value_link_post(card_id: int, value_id: int, token: str) -> ResponseReturnValue:
    card, value = _value_link(card_id, value_id, token)
    db = _db()
    thanks_service.set_value(db, user=card.sender, thanks=card, value=value)
    db.commit()
    return render_template("culture/thanks_value.html", card=card, value=value, done=True)


@bp.route("/admin/values", methods=["GET", "POST"])
@login_required
def admin_values() -> ResponseReturnValue:
    """The company's values: add, rename, remove."""
    require_admin()
    db = _db()
    error = None
    if request.method == "POST":
        vid = request.form.get("id", "")
        value = db.get(CompanyValue, int(vid)) if vid.isdigit() else None
        try:
            if request.form.get("delete") and value is not None:
                thanks_service.delete_value(db, actor=g.user, value=value)
            else:
                thanks_service.save_value(
                    db, actor=g.user, tag=request.form.get("tag", ""),
                    name=request.form.get("name", ""),
                    description=request.form.get("description", ""), value=value,
                )  # fmt: skip
            db.commit()
            return redirect(url_for("culture.admin_values"), 303)
        except Invalid as exc:
            db.rollback()
            error = exc
    return render_template(
        "culture/admin_values.html",
        values=thanks_service.list_values(db),
        counts=dict(thanks_service.counts_per_value(db)),
        error=error,
    )


# --- flags and moderation ----------------------------------------------------------------


def _threshold() -> int:
    return int(current_app.config.get("FLAG_HIDE_THRESHOLD", moderation.DEFAULT_THRESHOLD))


@bp.route("/posts/<int:post_id>/flag", methods=["GET", "POST"])
@login_required
def flag(post_id: int) -> ResponseReturnValue:
    """Flag a post with a reason (a form; the post's author is never told who flagged)."""
    db = _db()
    post = threads.get_visible_post(db, post_id, viewer=g.user)
    action = url_for("culture.flag", post_id=post.id)
    if request.method == "POST":
        reason = request.form.get("reason", "")
        try:
            moderation.flag(db, user=g.user, post=post, reason=reason, via=Via.WEB,
                            threshold=_threshold())  # fmt: skip
        except Invalid as exc:
            db.rollback()
            return render_template("culture/flag.html", post=post, done=False, action=action,
                                   error=exc, reason=reason), 422  # fmt: skip
        db.commit()
        return render_template("culture/flag.html", post=post, done=True, action=None)
    return render_template("culture/flag.html", post=post, done=False, action=action)


def _flag_target(token: str) -> tuple[User, Post]:
    user, post_id = signed.member_for(token, "flag")
    post = _db().get(Post, post_id)
    if post is None:
        abort(404)
    return user, post


@bp.get("/f/<token>")
def flag_link(token: str) -> ResponseReturnValue:
    """The flag link in a mail: a confirm page with a reason field (a GET records nothing)."""
    _user, post = _flag_target(token)
    return render_template("culture/flag.html", post=post, done=False,
                           action=url_for("culture.flag_link_post", token=token))  # fmt: skip


@bp.post("/f/<token>")
def flag_link_post(token: str) -> ResponseReturnValue:
    user, post = _flag_target(token)
    db = _db()
    try:
        moderation.flag(db, user=user, post=post, reason=request.form.get("reason", ""),
                        via=Via.LINK, threshold=_threshold())  # fmt: skip
    except HubError as exc:
        return render_template(
            "culture/flag.html",
            post=post,
            done=False,
            error=exc,
            action=url_for("culture.flag_link_post", token=token),
        )
    db.commit()
    return render_template("culture/flag.html", post=post, done=True, action=None)


@bp.get("/admin/moderation")
@login_required
def moderation_queue() -> ResponseReturnValue:
    require_admin()
    db = _db()
    return render_template("culture/moderation.html", rows=moderation.queue(db),
                           actions=moderation.recent_actions(db))  # fmt: skip


@bp.post("/admin/moderation/<int:post_id>")
@login_required
def moderate(post_id: int) -> ResponseReturnValue:
    """Hide or restore a post, with a note for the audit trail (and the author)."""
    require_admin()
    db = _db()
    post = db.get(Post, post_id) or abort(404)
    note = request.form.get("note", "")
    if request.form.get("action") == "hide":
        moderation.hide(db, actor=g.user, post=post, note=note)
    else:
        moderation.restore(db, actor=g.user, post=post, note=note)
    db.commit()
    return redirect(url_for("culture.moderation_queue"), 303)


# --- governance --------------------------------------------------------------------------


@bp.get("/admin/channel-requests")
@login_required
def channel_requests() -> ResponseReturnValue:
    require_admin()
    return render_template("culture/channel_requests.html",
                           requests=governance.pending_requests(_db()))  # fmt: skip


@bp.post("/admin/channel-requests/<int:channel_id>")
@login_required
def decide_request(channel_id: int) -> ResponseReturnValue:
    """Approve or decline a private channel request with a note (the requester is told)."""
    require_admin()
    db = _db()
    channel = db.get(Channel, channel_id) or abort(404)
    note = request.form.get("note", "")
    if request.form.get("decision") == "approve":
        governance.approve(db, actor=g.user, channel=channel, note=note)
    else:
        governance.decline(db, actor=g.user, channel=channel, note=note)
    db.commit()
    return redirect(url_for("culture.channel_requests"), 303)


@bp.route("/admin/governance", methods=["GET", "POST"])
@login_required
def governance_page() -> ResponseReturnValue:
    """The private-channel policy, the openness report and idle private channels."""
    require_admin()
    db = _db()
    if request.method == "POST":
        governance.set_policy(db, actor=g.user, policy=request.form.get("policy", ""))
        db.commit()
        return redirect(url_for("culture.governance_page"), 303)
    now = utcnow()
    days = request.args.get("days", "30")
    idle_days = int(days) if days.isdigit() else 30
    return render_template(
        "culture/governance.html", policy=governance.get_policy(db),
        weeks=governance.openness(db, now=now), idle_days=idle_days,
        idle=governance.idle_private_channels(db, now=now, days=idle_days),
        today=date.today(), suggested=request.args.get("suggested"),
    )  # fmt: skip


@bp.post("/admin/governance/suggest/<int:channel_id>")
@login_required
def suggest(channel_id: int) -> ResponseReturnValue:
    """One click: suggest to the owners to open or archive an idle private channel."""
    require_admin()
    db = _db()
    channel = db.get(Channel, channel_id) or abort(404)
    governance.suggest_review(db, actor=g.user, channel=channel,
                              idle_days=int(request.form.get("idle_days") or 0))  # fmt: skip
    db.commit()
    return redirect(url_for("culture.governance_page", suggested=channel.slug), 303)
