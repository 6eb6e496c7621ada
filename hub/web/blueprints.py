"""Every blueprint of the web app, registered in one place, and the error pages."""

from __future__ import annotations

from flask import Blueprint, Flask, g, make_response, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

from hub.errors import HubError
from hub.web.htmx import from_htmx, is_htmx

# The largest id a row can have (a 32-bit INTEGER column on PostgreSQL).
MAX_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in a URL: a number past any row id is a 404, not a database error."""

    def __init__(self, map: Map, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)  # type: ignore[arg-type]


def error_fragment(exc: HubError) -> Response:
    """A refusal for htmx, which swaps only what it is given: shown in the page's message area."""
    response = make_response(render_template("_error.html", error=exc), 200)
    response.headers.update({"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
    return response


def register(app: Flask) -> None:
    """Register the blueprints (a literal list: no discovery) and the HubError handler."""
    app.url_map.converters["int"] = RowIdConverter
    from hub.web import (
        admin_members,
        announcements,
        attachments,
        auth,
        channel_settings,
        channels,
        culture,
        dashboard,
        mail_admin,
        mailprefs,
        mentions,
        outbox_admin,
        search,
        settings,
        threads,
    )

    blueprints: list[Blueprint] = [
        auth.bp,
        channels.bp,
        channel_settings.bp,
        threads.bp,
        search.bp,
        mentions.bp,
        attachments.bp,
        settings.bp,
        admin_members.bp,
        announcements.bp,
        culture.bp,
        dashboard.bp,
        mailprefs.bp,
        mail_admin.bp,
        outbox_admin.bp,
    ]
    for bp in blueprints:
        app.register_blueprint(bp)

    @app.errorhandler(HubError)
    def _hub_error(exc: HubError) -> tuple[str, int] | Response:
        if is_htmx():
            return error_fragment(exc)
        return render_template("error.html", error=exc), exc.status

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> tuple[str, int] | Response:
        if from_htmx():
            # Say so above the form and leave the form, and what was typed in it, on the page
            # (a boosted form too: its URL is not pushed, a reload shows the page it was on).
            response = make_response(render_template("_csrf_error.html"), 400)
            response.headers.update(
                {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML", "HX-Push-Url": "false"}
            )
            return response
        return render_template("error.html", error=exc, csrf=True), 400

    # 405 has a page of its own (hub.web.form_pages).
    for code in (400, 403, 404, 413, 422, 429):

        @app.errorhandler(code)
        def _http_error(exc: HTTPException) -> tuple[str, int]:
            return render_template("error.html", error=exc), exc.code or 500

    @app.errorhandler(InternalServerError)
    def _server_error(exc: InternalServerError) -> tuple[str, int]:
        # The request's transaction may be broken: end it before the page reads anything.
        session = g.pop("db_session", None)
        if session is not None:
            session.close()
        try:
            return render_template("error.html", error=exc), 500
        except Exception:  # noqa: BLE001 - the error page itself must not fail
            return "500 Internal Server Error", 500
