"""Search page: posts and thread titles the reader may see, with highlighted snippets."""

from __future__ import annotations

from flask import Blueprint, g, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from hub.db import get_session
from hub.services import search as search_service
from hub.web.htmx import page_or_partial

bp = Blueprint("search", __name__)

# Threads shown for one search; past that the page asks for more words.
SHOWN = 30


@bp.get("/search")
@login_required
def index() -> ResponseReturnValue:
    """The search form and its results (htmx: the results alone, for search-as-you-type)."""
    query = request.args.get("q", "").strip()
    found = search_service.search(get_session(), g.user, query, limit=SHOWN + 1) if query else []
    return page_or_partial(
        "search/index.html",
        "search/_results.html",
        query=query,
        hits=found[:SHOWN],
        more=len(found) > SHOWN,
    )
