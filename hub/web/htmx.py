"""The only reader of HX-* headers: full page or partial, and redirects htmx understands."""

from __future__ import annotations

from typing import Any

from flask import make_response, redirect, render_template, request
from werkzeug.wrappers import Response


def is_htmx() -> bool:
    """True for an htmx request that wants a fragment (HX-Request present, not a boosted page)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-Boosted")


def from_htmx() -> bool:
    """True for any request htmx made: a fragment or a boosted page or form."""
    return bool(request.headers.get("HX-Request"))


def page_or_partial(page: str, partial: str, *, status: int = 200, **context: Any) -> Response:
    """Render ``partial`` for htmx, the whole ``page`` otherwise; caches must keep them apart."""
    body = render_template(partial if is_htmx() else page, **context)
    response = make_response(body, status)
    response.headers["Vary"] = "HX-Request"
    return response


def htmx_redirect(location: str) -> Response:
    """Redirect: htmx follows HX-Location; a plain form gets 303 (POST-redirect-GET)."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Location"] = location
        return response
    return redirect(location, 303)
