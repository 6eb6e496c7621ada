"""Threads and posts: read, reply (htmx or plain form), start, edit, delete, react, live refresh."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from hub import permissions
from hub.db import get_session
from hub.errors import Forbidden, HubError, Invalid, Reason
from hub.models import Attachment, Channel, Post, Thread, User, Via
from hub.services import attachments, channels, handles, moderation, thread_pages, threads
from hub.text import MentionLink, mention_handles, render_markdown
from hub.web.blueprints import MAX_ID, error_fragment
from hub.web.htmx import htmx_redirect, is_htmx, open_page, page_or_partial, stop_polling
from hub.web.post_links import newer_url, post_url

bp = Blueprint("threads", __name__)

EMOJI = ("👍", "🙏", "🎉", "😄", "✅")


@bp.app_template_filter("markdown")
def _markdown(text: str, channel: Channel | None = None) -> Markup:
    return Markup(render_markdown(text, _mention_links(text, channel)))


def _mention_links(text: str, channel: Channel | None) -> dict[str, MentionLink]:
    """The members of the hub the @handles in ``text`` name, as the mention parser resolves
    them (once per handle and request: a thread page names the same people again and again);
    in a post, only those who may read its ``channel`` (the others were not told of it)."""
    cache: dict[str, MentionLink | None] = request.environ.setdefault("hiroba.mentions", {})
    has_page = "culture.member_thanks" in current_app.view_functions
    readers: dict[str, User] = request.environ.setdefault("hiroba.mentioned", {})
    links: dict[str, MentionLink] = {}
    for handle in mention_handles(text):
        if handle not in cache:
            found = handles.resolve_handle_span(get_session(), handle)
            cache[handle] = None
            if found is not None:
                member, length = found
                href = url_for("culture.member_thanks", user_id=member.id) if has_page else None
                cache[handle] = MentionLink(length=length, name=member.name, href=href)
                readers[handle] = member
        link = cache[handle]
        if link is not None and (channel is None or _reads(readers[handle], channel)):
            links[handle] = link
    return links


def _reads(member: User, channel: Channel) -> bool:
    """Whether ``member`` may read ``channel`` (once per request)."""
    seen: dict[tuple[int, int], bool] = request.environ.setdefault("hiroba.readers", {})
    key = (member.id, channel.id)
    if key not in seen:
        seen[key] = permissions.can_read(get_session(), member, channel)
    return seen[key]


def _not_told(post: Post) -> list[str]:
    """The author is told which members their post names but did not reach: those who cannot
    read its channel (a notice, for the page or the reply form)."""
    return [
        _("@%(handle)s cannot read this channel, so they were not notified.", handle=handle)
        for handle, _member in handles.unreadable_mentions(get_session(), post)
    ]


@bp.app_context_processor
def _helpers() -> dict[str, object]:
    return {
        "EMOJI": EMOJI,
        "can_edit": permissions.can_edit,
        "can_delete": permissions.can_delete,
        # A hidden post's placeholder: hidden by flags, waiting for an admin, or by an admin.
        "awaits_review": lambda post: moderation.awaits_review(get_session(), post),
    }


def _visible_thread(thread_id: int) -> Thread:
    return threads.get_visible_thread(get_session(), thread_id, viewer=g.user)


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name) or request.form.get(name)
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        abort(400)
    if not 0 <= value <= MAX_ID:
        abort(400)
    return value


def _older_than(thread: Thread, posts: list[Post]) -> int | None:
    """The id to page back from, when there are older posts than ``posts``."""
    if posts and thread_pages.list_posts(get_session(), thread, before_id=posts[0].id, limit=1):
        return posts[0].id
    return None


def _thread_context(thread: Thread, **extra: object) -> dict[str, Any]:
    db = get_session()
    before = _int_arg("before")
    posts = thread_pages.list_posts(db, thread, before_id=before)
    return {
        "thread": thread,
        "channel": thread.channel,
        "posts": posts,
        "older": _older_than(thread, posts),
        "newer": newer_url(thread, before),
        "last_id": thread_pages.latest_post_id(db, thread),
        "can_post": permissions.can_post(db, g.user, thread.channel),
        **extra,
    }


@bp.get("/t/<int:thread_id>")
@login_required
def show(thread_id: int) -> ResponseReturnValue:
    """A thread: its newest posts (older ones with ?before=), the reply form, live refresh."""
    thread = _visible_thread(thread_id)
    return render_template("threads/show.html", **_thread_context(thread))


@bp.get("/t/<int:thread_id>/posts")
@login_required
def posts(thread_id: int) -> ResponseReturnValue:
    """htmx fragments: ``after=`` polls for new posts (204 when none), ``before=`` pages back."""
    after, before = _int_arg("after"), _int_arg("before")
    if after is not None:
        return _poll(thread_id, after)
    thread = _visible_thread(thread_id)
    db = get_session()
    if not is_htmx():
        return redirect(url_for("threads.show", thread_id=thread.id, before=before))
    older = thread_pages.list_posts(db, thread, before_id=before)
    return page_or_partial(
        "threads/show.html",
        "threads/_older_posts.html",
        thread=thread,
        posts=older,
        older=_older_than(thread, older),
    )


def _poll(thread_id: int, after: int) -> ResponseReturnValue:
    """The posts after ``after`` (204 when none). A member who may no longer read the thread
    (removed from its private channel) is told once, and the poll stops."""
    try:
        thread = _visible_thread(thread_id)
    except HubError as exc:
        if not is_htmx():
            raise
        return stop_polling(error_fragment(exc))
    db = get_session()
    # The cheap answer first: one indexed lookup, nothing rendered when nothing is new.
    if thread_pages.latest_post_id(db, thread) <= after:
        return Response(status=204, headers={"Vary": "HX-Request"})
    new = thread_pages.list_posts(db, thread, after_id=after)
    return page_or_partial(
        "threads/show.html", "threads/_new_posts.html", **_thread_context(thread, new=new)
    )


def _uploads(files: list[FileStorage]) -> list[Attachment]:
    picked = [
        attachments.Upload(f.filename, f.mimetype or "application/octet-stream", f.read())
        for f in files
        if f and f.filename
    ]
    return attachments.store_all(get_session(), uploader=g.user, uploads=picked)


@bp.post("/t/<int:thread_id>/reply")
@login_required
def reply(thread_id: int) -> ResponseReturnValue:
    """Add a reply: htmx gets the new posts appended; a plain form gets 303 to the thread."""
    thread = _visible_thread(thread_id)
    db = get_session()
    body = request.form.get("body", "")
    try:
        files = _uploads(request.files.getlist("files"))
        post = threads.reply(db, author=g.user, thread=thread, body=body, via=Via.WEB,
                             attachments=files)  # fmt: skip
    except (Invalid, Forbidden) as exc:
        db.rollback()
        return _reply_refused(thread, body, exc)
    db.commit()
    not_told = _not_told(post)
    if not is_htmx():
        for note in not_told:
            flash(note, "warn")
        return redirect(url_for("threads.show", thread_id=thread.id) + f"#post-{post.id}", 303)
    after = _int_arg("after") or post.id - 1
    new = thread_pages.list_posts(db, thread, after_id=after)
    context = _thread_context(thread, new=new, fresh_form=True, not_told=not_told)
    return page_or_partial("threads/show.html", "threads/_new_posts.html", **context)


def _reply_refused(thread: Thread, body: str, exc: Exception) -> ResponseReturnValue:
    context = _thread_context(thread, body=body, error=exc)
    if is_htmx():
        response = make_response(render_template("threads/_reply_form.html", **context))
        response.headers.update({"HX-Retarget": "#reply-form", "HX-Reswap": "outerHTML"})
        response.headers["Vary"] = "HX-Request"
        return response
    return render_template("threads/show.html", **context), 422


@bp.get("/c/<slug>/new")
@login_required
def new(slug: str) -> ResponseReturnValue:
    channel = channels.get_visible_channel(get_session(), slug, viewer=g.user)
    return render_template("threads/new.html", channel=channel, form={})


@bp.post("/c/<slug>/new")
@login_required
def create(slug: str) -> ResponseReturnValue:
    """Start a thread; a refused form keeps the title and text."""
    db = get_session()
    channel = channels.get_visible_channel(db, slug, viewer=g.user)
    form = request.form
    try:
        files = _uploads(request.files.getlist("files"))
        post = threads.start_thread(db, author=g.user, channel=channel, via=Via.WEB,
                                    title=form.get("title", ""), body=form.get("body", ""),
                                    attachments=files)  # fmt: skip
    except (Invalid, Forbidden) as exc:
        db.rollback()
        return render_template("threads/new.html", channel=channel, form=form, error=exc), 422
    db.commit()
    for note in _not_told(post):
        flash(note, "warn")
    return htmx_redirect(url_for("threads.show", thread_id=post.thread_id))


@bp.get("/p/<int:post_id>")
@login_required
def permalink(post_id: int) -> ResponseReturnValue:
    """A post's address: the page of its thread that holds it, scrolled to it; htmx gets the
    post alone (edit's Cancel)."""
    post = threads.get_visible_post(get_session(), post_id, viewer=g.user)
    if is_htmx():
        return page_or_partial("threads/show.html", "threads/_post.html", post=post)
    return open_page(post_url(post))


def _editable_post(post_id: int) -> Post:
    """The post, if the viewer may edit it (404 if they may not see it, else 403)."""
    post = threads.get_visible_post(get_session(), post_id, viewer=g.user)
    if not permissions.can_edit(g.user, post) or post.deleted_at is not None:
        raise Forbidden(Reason.NOT_AUTHOR)
    return post


@bp.route("/p/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit(post_id: int) -> ResponseReturnValue:
    """Edit one's own post, in place with htmx (the form, then the post, swap in for the post)
    or on a page of its own; the earlier text is kept as a revision."""
    post = _editable_post(post_id)
    if request.method == "GET":
        return _edit_form(post, post.body)
    db = get_session()
    body = request.form.get("body", "")
    try:
        threads.edit_post(db, editor=g.user, post=post, body=body)
    except Invalid as exc:
        db.rollback()
        # The form comes back with what was typed and why; htmx gets it with 200, as a reply does.
        return _edit_form(post, body, error=exc, status=200 if is_htmx() else 422)
    db.commit()
    if is_htmx():
        return page_or_partial("threads/show.html", "threads/_post.html", post=post)
    return redirect(post_url(post), 303)


def _edit_form(post: Post, body: str, status: int = 200, **extra: object) -> Response:
    return page_or_partial(
        "threads/edit.html", "threads/_edit_form.html", status=status, post=post, body=body,
        inline=True, **extra,
    )  # fmt: skip


@bp.post("/p/<int:post_id>/delete")
@login_required
def delete(post_id: int) -> ResponseReturnValue:
    """Soft-delete: the post becomes a tombstone in place."""
    db = get_session()
    post = threads.get_visible_post(db, post_id, viewer=g.user)
    threads.delete_post(db, actor=g.user, post=post)
    db.commit()
    if is_htmx():
        return page_or_partial("threads/show.html", "threads/_post.html", post=post)
    return redirect(post_url(post), 303)


@bp.post("/p/<int:post_id>/react")
@login_required
def react(post_id: int) -> ResponseReturnValue:
    """Toggle one emoji on a post; htmx swaps the reaction bar in place."""
    db = get_session()
    post = threads.get_visible_post(db, post_id, viewer=g.user)
    threads.toggle_reaction(db, user=g.user, post=post, emoji=request.form.get("emoji", ""))
    db.commit()
    db.expire(post, ["reactions"])
    if is_htmx():
        return page_or_partial("threads/show.html", "threads/_reactions.html", post=post)
    return redirect(post_url(post), 303)
