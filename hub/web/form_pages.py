"""Addresses that only take a form's POST: the address bar never shows one, and opening one
says what to do.

With ``hx-boost`` htmx pushes the address a form was sent to whenever the answer is shown in
place (a "check your mail" page, a form refused with its errors). For an address that only
takes a POST, a reload or a Back later opened it with GET: a bare 405. Such answers keep the
address of the page the member was on instead, and a 405 page links to the page with the form.
"""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

# Answers that already say which address to show, or that go elsewhere.
_HTMX_NAVIGATION = ("HX-Push-Url", "HX-Replace-Url", "HX-Redirect", "HX-Location", "HX-Refresh")


def opens_with_get(path: str) -> bool:
    """True when ``path`` is an address of the hub that a browser can open (a GET route)."""
    adapter = current_app.create_url_adapter(request)
    if adapter is None:
        return False
    try:
        adapter.match(path, method="GET")
    except RequestRedirect:
        return True
    except (MethodNotAllowed, NotFound):
        return False
    return True


def page_of_form(path: str) -> str | None:
    """The nearest address above ``path`` that opens with GET: where a POST-only address's form
    lives (``/login/link`` -> ``/login``, ``/admin/members/invite`` -> ``/admin/members``)."""
    parts = path.rstrip("/").split("/")
    while len(parts) > 1:
        parts.pop()
        parent = "/".join(parts) or "/"
        if opens_with_get(parent):
            return parent
    return None


def keep_loadable_url(response: Response) -> Response:
    """Keep the page's address in the address bar when a boosted form's answer is shown in place
    and the form's address cannot be opened (a redirect's address is pushed as before)."""
    if request.method in ("GET", "HEAD") or not request.headers.get("HX-Boosted"):
        return response
    if 300 <= response.status_code < 400 or any(h in response.headers for h in _HTMX_NAVIGATION):
        return response
    if not opens_with_get(request.path):
        response.headers["HX-Push-Url"] = "false"
    return response


def method_not_allowed(exc: HTTPException) -> tuple[str, int]:
    """A 405 that says what happened and links to the page with the form."""
    opened = request.method in ("GET", "HEAD")
    page = page_of_form(request.path) if opened else None
    return render_template("error.html", error=exc, form_page=page, opened=opened), 405


def init_app(app: Flask) -> None:
    """Register the after-request hook and the 405 page."""
    app.after_request(keep_loadable_url)
    app.register_error_handler(405, method_not_allowed)
