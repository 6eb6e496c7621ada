"""The only reader of HX-* headers: full page or partial, and redirects htmx understands."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

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


def current_page() -> str | None:
    """The page (path and query) the member is on, to come back to after the sign-in or the rules.

    A page asked for with GET is its own address (without Flask's ``full_path`` trailing "?");
    for a fragment (the thread's poll) or a form it is the page that sent it (HX-Current-URL,
    else the Referer): never the fragment, nor an address that only takes a POST. None when
    that page is unknown or on another site.
    """
    if request.method == "GET" and not is_htmx():
        query = request.query_string.decode("utf-8", "replace")
        return request.path + (f"?{query}" if query else "")
    page = request.headers.get("HX-Current-URL") or request.referrer or ""
    parts = urlsplit(page)
    if parts.netloc != request.host or not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def whole_page_redirect(location: str, status: int = 303) -> Response:
    """Send the whole tab to ``location``.

    A fragment request (the thread's 3-second poll, a live count) gets ``HX-Redirect``: a
    redirect the browser followed would put the whole page inside the fragment's target, once
    per poll. A page, boosted or not, gets a plain redirect.
    """
    if is_htmx():
        response: Response = make_response("", 200)
        response.headers["HX-Redirect"] = location
    else:
        response = redirect(location, status)
    response.headers["Vary"] = "HX-Request"
    return response


def open_page(location: str) -> Response:
    """Open ``location`` as a whole page, its ``#fragment`` included: htmx follows a redirect
    without it (XHR drops it), so a boosted link gets ``HX-Redirect`` and a browser a 302."""
    if from_htmx():
        response: Response = make_response("", 200)
        response.headers["HX-Redirect"] = location
    else:
        response = redirect(location)
    response.headers["Vary"] = "HX-Request"
    return response


def stop_polling(response: Response) -> Response:
    """Make an answer to a poll its last: htmx stops an ``every`` trigger on status 286."""
    response.status_code = 286
    return response
