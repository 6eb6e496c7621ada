"""Every blueprint of the web app, registered in one place, and the error pages."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.wrappers import Response

from hub.errors import HubError


def register(app: Flask) -> None:
    """Register the blueprints (a literal list: no discovery) and the HubError handler."""
    blueprints: list = []
    for bp in blueprints:
        app.register_blueprint(bp)

    @app.errorhandler(HubError)
    def _hub_error(exc: HubError) -> tuple[str, int] | Response:
        return render_template("error.html", error=exc), exc.status
