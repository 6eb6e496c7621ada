"""Announcements on the web: admins write and follow them; members acknowledge from a banner.

The mail link ``/a/<token>`` opens a confirm page; only its button (a POST) acknowledges, so
mail scanners that open links acknowledge nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from hub import permissions
from hub.db import get_session
from hub.errors import Forbidden, HubError, Invalid, NotFound, Reason
from hub.models import Announcement, Channel, User, Via
from hub.services import acknowledgements, announcements
from hub.text import render_markdown
from hub.web import signed
from hub.web.htmx import is_htmx

bp = Blueprint("announcements", __name__)


def require_admin() -> None:
    """Refuse anyone but an admin."""
    if not permissions.is_admin(g.get("user")):
        raise Forbidden(Reason.ADMIN_ONLY)


# How an acknowledgement came in, in the admin's words; the codes (web, mail, link, cli) stay
# what the status JSON and the CLI say.
DOORS = {
    "web": _l("On the web"),
    "mail": _l("By mail"),
    "link": _l("Through the link in the mail"),
    "cli": _l("By an admin on the command line"),
}


@bp.context_processor
def _door_words() -> dict[str, Any]:
    return {"door_label": lambda code: DOORS.get(code, code)}


@bp.app_context_processor
def _banners() -> dict[str, Any]:
    """Feed templates/_banners.html: announcements the signed-in member has not acknowledged."""
    user = current_user if current_user and current_user.is_authenticated else None
    if user is None or request.endpoint in ("announcements.link", "announcements.link_ack"):
        return {"pending_announcements": []}
    try:
        pending = acknowledgements.pending_for(get_session(), user)
    except Exception:  # noqa: BLE001 - a banner must never break a page (e.g. an error page)
        pending = []
    return {"pending_announcements": pending}


def _audience_names(item: Announcement) -> list[str]:
    db = get_session()
    ids = announcements.channel_ids(item)
    return [c.name for c in (db.get(Channel, i) for i in ids) if c is not None]


@bp.get("/admin/announcements")
@login_required
def admin_index() -> ResponseReturnValue:
    """Every announcement with its acknowledgement rate, and the form to write a new one."""
    require_admin()
    return _admin_index_page()


def _admin_index_page(form: Any = None, error: HubError | None = None) -> ResponseReturnValue:
    db = get_session()
    rows = [(a, acknowledgements.status(db, a)) for a in announcements.list_announcements(db)]
    channels = db.query(Channel).order_by(Channel.name).all()
    page = render_template("announcements/admin_index.html", rows=rows, channels=channels,
                           form=form, error=error)  # fmt: skip
    return page, (422 if error is not None else 200)


@bp.post("/admin/announcements")
@login_required
def publish() -> ResponseReturnValue:
    """Publish an announcement; a refused form comes back with what was typed and why."""
    require_admin()
    db = get_session()
    form = request.form
    ids = [int(x) for x in form.getlist("channel_ids") if x.isdigit()]
    try:
        if form.get("audience", "everyone") == "everyone":
            ids = []
        elif not ids:
            # No channel ticked must not quietly mean "everyone".
            raise Invalid(Reason.INVALID_VALUE, "audience")
        item = announcements.publish(
            db, author=g.user, title=form.get("title", ""), body=form.get("body", ""),
            ack_required=bool(form.get("ack_required")), urgent=bool(form.get("urgent")),
            channel_ids=ids, remind_every_days=_days(form.get("remind_every_days")),
            locale=current_app.config["BABEL_DEFAULT_LOCALE"],
        )  # fmt: skip
    except (Invalid, NotFound) as exc:
        db.rollback()
        return _admin_index_page(form, exc)
    db.commit()
    return redirect(url_for("announcements.admin_show", announcement_id=item.id), 303)


def _days(raw: str | None) -> int:
    try:
        return int(raw or 0)
    except ValueError:
        raise Invalid(Reason.INVALID_VALUE, "remind_every_days") from None


@bp.get("/admin/announcements/<int:announcement_id>")
@login_required
def admin_show(announcement_id: int) -> ResponseReturnValue:
    """Who has acknowledged (when and how) and who has not; remind and edit."""
    require_admin()
    db = get_session()
    item = announcements.get(db, announcement_id)
    status = acknowledgements.status(db, item)
    # Each acknowledgement with its time as a datetime, which the page shows in the viewer's
    # time zone and language (the status keeps ISO text in UTC, for the CLI's JSON).
    acknowledged = [(r, datetime.fromisoformat(r["when"])) for r in status["acknowledged"]]
    return render_template(
        "announcements/admin_show.html", item=item, status=status, acknowledged=acknowledged,
        body_html=render_markdown(item.body), audience=_audience_names(item),
        reminded=request.args.get("reminded"), to_remind=acknowledgements.to_remind(db, item),
    )  # fmt: skip


@bp.post("/admin/announcements/<int:announcement_id>/remind")
@login_required
def remind(announcement_id: int) -> ResponseReturnValue:
    """Remind everyone who has not acknowledged, once confirmed: the button's hx-confirm asks
    in the browser (and sends ``confirmed``); without JavaScript this page asks first."""
    require_admin()
    db = get_session()
    item = announcements.get(db, announcement_id)
    if not request.form.get("confirmed"):
        return render_template(
            "announcements/remind_confirm.html", item=item,
            to_remind=acknowledgements.to_remind(db, item),
            status=acknowledgements.status(db, item),
        )  # fmt: skip
    pending = acknowledgements.remind(db, announcement=item, actor=g.user)
    db.commit()
    return redirect(
        url_for("announcements.admin_show", announcement_id=item.id, reminded=len(pending)), 303
    )


@bp.post("/admin/announcements/<int:announcement_id>/edit")
@login_required
def edit(announcement_id: int) -> ResponseReturnValue:
    """Change the text; 'require again' asks everyone to acknowledge the new version."""
    require_admin()
    db = get_session()
    item = announcements.get(db, announcement_id)
    form = request.form
    announcements.edit(
        db, announcement=item, actor=g.user, title=form.get("title"), body=form.get("body"),
        require_again=bool(form.get("require_again")),
        remind_every_days=_days(form.get("remind_every_days")),
    )  # fmt: skip
    db.commit()
    return redirect(url_for("announcements.admin_show", announcement_id=item.id), 303)


@bp.get("/announcements/<int:announcement_id>")
@login_required
def show(announcement_id: int) -> ResponseReturnValue:
    """An announcement as members see it, with its acknowledge button."""
    db = get_session()
    item = announcements.get_visible(db, announcement_id, viewer=g.user)
    ack = acknowledgements.find_ack(db, g.user, item)
    return render_template(
        "announcements/show.html", item=item, ack=ack, body_html=render_markdown(item.body)
    )


@bp.post("/announcements/<int:announcement_id>/ack")
@login_required
def ack(announcement_id: int) -> ResponseReturnValue:
    """The acknowledge button (htmx swaps the banner or button in place)."""
    db = get_session()
    item = announcements.get(db, announcement_id)
    done = acknowledgements.acknowledge(db, user=g.user, announcement=item, via=Via.WEB)
    db.commit()
    if is_htmx():
        return render_template("announcements/_acknowledged.html", item=item, ack=done)
    return redirect(request.referrer or url_for("announcements.show", announcement_id=item.id), 303)


def _from_link(token: str) -> tuple[User, Announcement]:
    user, announcement_id = signed.member_for(token, "ack_link")
    item = get_session().get(Announcement, announcement_id)
    if item is None:
        abort(404)
    return user, item


@bp.get("/a/<token>")
def link(token: str) -> ResponseReturnValue:
    """The mail link: a confirm page. A GET never acknowledges (mail scanners open links)."""
    user, item = _from_link(token)
    ack = acknowledgements.find_ack(get_session(), user, item)
    return render_template(
        "announcements/confirm.html", item=item, member=user, ack=ack, token=token,
        body_html=render_markdown(item.body),
    )  # fmt: skip


@bp.post("/a/<token>")
def link_ack(token: str) -> ResponseReturnValue:
    """The confirm page's button: acknowledge as the link's member."""
    user, item = _from_link(token)
    db = get_session()
    try:
        ack = acknowledgements.acknowledge(db, user=user, announcement=item, via=Via.LINK)
    except HubError:
        abort(404)
    db.commit()
    return render_template(
        "announcements/confirm.html", item=item, member=user, ack=ack, token=token,
        body_html=render_markdown(item.body),
    )  # fmt: skip
