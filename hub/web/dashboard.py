"""The adoption dashboard for admins: tables, SVG charts (pygal, no JavaScript), CSV exports."""

from __future__ import annotations

import csv
import io
from typing import Any

import pygal
from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from pygal.style import CleanStyle

from hub.db import get_session, utcnow
from hub.models import User
from hub.services import dashboard, governance
from hub.web.announcements import require_admin

bp = Blueprint("dashboard", __name__)

TABLES = ("weekly_active", "ack_rates", "openness", "posts_per_channel", "thanks_per_value",
          "left_behind")  # fmt: skip


def _config() -> dict[str, Any]:
    # js=[]: no external script; the SVG is shown through <img>, so nothing would run anyway.
    return {"js": [], "style": CleanStyle, "width": 720, "height": 320,
            "disable_xml_declaration": False, "legend_at_bottom": True}  # fmt: skip


def _rows(name: str) -> list[dict[str, Any]]:
    db, now = get_session(), utcnow()
    if name == "weekly_active":
        return dashboard.weekly_active(db, now=now)
    if name == "ack_rates":
        return dashboard.ack_rates(db)
    if name == "openness":
        return governance.openness(db, now=now)
    if name == "posts_per_channel":
        return dashboard.posts_per_channel(db, now=now)
    if name == "thanks_per_value":
        return dashboard.thanks_per_value(db, now=now)
    if name == "left_behind":
        return [{"id": u.id, "email": u.email, "name": u.name, "email_only": u.email_only}
                for u in dashboard.left_behind(db, now=now)]  # fmt: skip
    abort(404)


def _chart(name: str) -> Any:
    rows = _rows(name)
    if name == "weekly_active":
        chart = pygal.StackedBar(**_config(), title=_("Active members per week"))
        chart.x_labels = [r["week"][5:] for r in rows]
        chart.add(_("Web"), [r["web"] for r in rows])
        chart.add(_("Mail"), [r["mail"] for r in rows])
    elif name == "openness":
        chart = pygal.Line(**_config(), title=_("Share of posts in open channels (%)"),
                           range=(0, 100))  # fmt: skip
        chart.x_labels = [r["week"][5:] for r in rows]
        chart.add(_("Open"), [None if r["open_share"] is None else round(r["open_share"] * 100)
                             for r in rows])  # fmt: skip
    elif name == "ack_rates":
        chart = pygal.HorizontalBar(**_config(), title=_("Acknowledged (%)"), range=(0, 100))
        for r in rows[:10]:
            chart.add(r["title"][:40], round(r["rate"] * 100))
    elif name == "posts_per_channel":
        chart = pygal.HorizontalBar(**_config(), title=_("Posts per channel (30 days)"))
        for r in rows[:15]:
            chart.add(r["name"], r["posts"])
    elif name == "thanks_per_value":
        chart = pygal.Bar(**_config(), title=_("Thanks per value (30 days)"))
        for r in rows:
            chart.add(r["value"], r["thanks"])
    else:
        abort(404)
    return chart


@bp.get("/admin/dashboard")
@login_required
def index() -> ResponseReturnValue:
    """Every table with its chart; readable without JavaScript."""
    require_admin()
    data = dashboard.summary(get_session(), now=utcnow())
    return render_template("dashboard/index.html", data=data, nudged=request.args.get("nudged"))


@bp.get("/admin/dashboard/<name>.svg")
@login_required
def chart(name: str) -> ResponseReturnValue:
    """One chart as an SVG image (server-side, no script runs inside an <img>)."""
    require_admin()
    svg = _chart(name).render(is_unicode=True)
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


@bp.get("/admin/dashboard/<name>.csv")
@login_required
def export(name: str) -> ResponseReturnValue:
    """One table as CSV (UTF-8 with BOM so spreadsheet programs read Japanese right)."""
    require_admin()
    if name not in TABLES:
        abort(404)
    rows = _rows(name)
    out = io.StringIO()
    if name == "openness" and not rows:
        rows = [{"week": "", "open_share": ""}]
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}.csv"},
    )


@bp.post("/admin/dashboard/nudge/<int:user_id>")
@login_required
def nudge(user_id: int) -> ResponseReturnValue:
    """One click: a friendly nudge mail to a member who has not taken part for a while."""
    require_admin()
    db = get_session()
    user = db.get(User, user_id) or abort(404)
    dashboard.nudge(db, actor=g.user, user=user, now=utcnow())
    db.commit()
    return redirect(url_for("dashboard.index", nudged=user.email), 303)
