"""Links to a post: the page of its thread that holds it, and the way on to newer posts.

A thread page shows its newest posts (``PAGE_SIZE``); ``?before=B`` shows the ones before B.
A post older than those is reached on the page that starts with it, so a link to it (a search
hit, a mention, ``/p/ID``, a mail) lands on it and not on the newest posts.
"""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select

from hub.db import get_session
from hub.models import Post, Thread
from hub.services.thread_pages import PAGE_SIZE


def _ids_from(thread_id: int, first_id: int) -> list[int]:
    """The ids of the thread's posts from ``first_id`` on, one more than a page holds."""
    stmt = (
        select(Post.id)
        .where(Post.thread_id == thread_id, Post.id >= first_id)
        .order_by(Post.id)
        .limit(PAGE_SIZE + 1)
    )
    return list(get_session().scalars(stmt))


def _page_from(thread_id: int, ids: list[int]) -> str:
    """The page starting at ``ids[0]``; the newest page when no more than a page follows."""
    before = ids[PAGE_SIZE] if len(ids) > PAGE_SIZE else None
    return url_for("threads.show", thread_id=thread_id, before=before)


def post_url(post: Post) -> str:
    """The thread page holding ``post``, scrolled to it (``#post-ID``, the post's element)."""
    return _page_from(post.thread_id, _ids_from(post.thread_id, post.id)) + f"#post-{post.id}"


def newer_url(thread: Thread, before: int | None) -> str | None:
    """The page of the posts after a page shown with ``?before=``; None on the newest page."""
    if before is None:
        return None
    ids = _ids_from(thread.id, before)
    return _page_from(thread.id, ids) if ids else None
