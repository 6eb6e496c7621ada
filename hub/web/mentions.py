"""The mentions page: posts that name me in channels I may read, newest first, new ones marked.

Reading the page changes nothing (GET is safe: link prefetchers, mail scanners, a reload or a
boosted back-button must not mark mentions seen). The visit is recorded by a POST: the page
sends it by itself through htmx once it is shown (``hx-trigger="load"``), naming the newest
mention it showed, so a mention that arrives meanwhile stays new; without JavaScript the member
presses "Mark as seen".
"""

from __future__ import annotations

from flask import Blueprint, abort, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from hub.db import get_session
from hub.plaintext import excerpt
from hub.services import mentions
from hub.web.blueprints import MAX_ID
from hub.web.htmx import htmx_redirect, is_htmx, page_or_partial

bp = Blueprint("mentions", __name__)


def _id_arg(raw: str | None) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > MAX_ID:
        abort(400)
    return int(raw)


@bp.get("/mentions")
@login_required
def index() -> ResponseReturnValue:
    """My mentions, newest first (htmx: the next page of the list alone)."""
    before = _id_arg(request.args.get("before"))
    items = mentions.list_mentions(
        get_session(), g.user, before_id=before, limit=mentions.PAGE_SIZE + 1
    )
    shown = items[: mentions.PAGE_SIZE]
    older = None
    if len(items) > mentions.PAGE_SIZE:
        older = url_for("mentions.index", before=shown[-1].id)
    return page_or_partial(
        "mentions/index.html",
        "mentions/_list.html",
        items=shown,
        older=older,
        newest=shown[0].id if shown and before is None else 0,
        unseen=any(item.new for item in shown),
    )


@bp.post("/mentions/seen")
@login_required
def seen() -> ResponseReturnValue:
    """Record the visit: mentions up to ``up_to`` are no longer new (answers the new count)."""
    up_to = _id_arg(request.form.get("up_to")) or 0
    db = get_session()
    mentions.mark_seen(db, g.user, up_to=up_to)
    db.commit()
    if is_htmx():
        return render_template("mentions/_count.html", oob=True)
    return htmx_redirect(url_for("mentions.index"))


@bp.get("/mentions/count")
def count() -> ResponseReturnValue:
    """The navigation's count of new mentions, for htmx to refresh in place."""
    if g.get("user") is None:
        # Signed out meanwhile: leave the count as it is (a redirect would swap in the
        # sign-in page); the next page the member opens asks them to sign in.
        return "", 204
    return render_template("mentions/_count.html")


@bp.app_context_processor
def _helpers() -> dict[str, object]:
    # A function, not a number: only pages that draw the navigation pay for the query.
    def unseen_mentions() -> int:
        user = g.get("user")
        return mentions.unseen_count(get_session(), user) if user is not None else 0

    # The snippet reads as the post shows it ("至急：見積書 (https://…)"), not as its Markdown
    # source ("**至急**：[見積書](https://…)"): the same one line a digest quotes.
    return {"unseen_mentions": unseen_mentions, "mention_snippet": excerpt}
