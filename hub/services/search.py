"""Search over what a reader may see: post bodies and thread titles, Japanese included.

SQLite: the FTS5 trigram index (hub/search.py) answers terms of three or more characters;
shorter terms (予算, 会議) use LIKE on the base table, never on the FTS table, whose LIKE is
wrong for short non-ASCII patterns on SQLite 3.40 (LIBRARIES.md §9). PostgreSQL: ILIKE, which
the pg_trgm GIN indexes serve for terms of three or more characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape
from sqlalchemy import ColumnElement, Integer, case, func, literal, or_, select, text
from sqlalchemy.orm import Session

from hub import permissions
from hub.db import is_postgres
from hub.models import Channel, Post, Thread, User
from hub.services.attachments import SHOWN

MAX_TERMS = 8
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SNIPPET_CHARS = 120
# Markdown emphasis, code and heading marks: noise in a one-line snippet.
MARKUP = re.compile(r"(\*\*|__|`+|^#+\s|^>\s?)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Hit:
    """One thread found by a search, shown by one of its posts with a highlighted snippet
    (safe HTML)."""

    post_id: int
    thread_id: int
    thread_title: str
    channel_slug: str
    channel_name: str
    author_name: str
    created_at: datetime
    snippet: Markup
    title_html: Markup


def terms_of(query: str) -> list[str]:
    """Split a query on white space (ASCII and ideographic), without repeats.

    >>> terms_of("予算　会議  budget 予算")
    ['予算', '会議', 'budget']

    Control characters (a NUL from a pasted or crafted URL) are dropped: PostgreSQL refuses
    NUL in text and FTS5 ends its query string there.

    >>> terms_of("a" + chr(0) + "b " + chr(0))
    ['ab']
    """
    seen: dict[str, None] = {}
    for word in CONTROL.sub("", query).split():
        seen.setdefault(word[:100], None)
    return list(seen)[:MAX_TERMS]


def _fts_phrase(term: str) -> str:
    # An FTS5 string: double quotes inside are doubled; the trigram tokenizer matches substrings.
    return '"' + term.replace('"', '""') + '"'


def _body_matches(session: Session, term: str, n: int) -> ColumnElement[bool]:
    if is_postgres(session):
        return Post.body.icontains(term, autoescape=True)
    if len(term) >= 3:
        name = f"fts{n}"
        rows = text(f"SELECT rowid FROM post_fts WHERE post_fts MATCH :{name}").bindparams(
            **{name: _fts_phrase(term)}
        )
        return Post.id.in_(rows.columns(rowid=Integer))
    return Post.body.contains(term, autoescape=True)


def _title_matches(session: Session, term: str) -> ColumnElement[bool]:
    if is_postgres(session):
        return Thread.title.icontains(term, autoescape=True)
    return Thread.title.contains(term, autoescape=True)


def search(session: Session, viewer: User, query: str, limit: int = 30) -> list[Hit]:
    """Threads ``viewer`` may read with a post that holds every term (in its body or in the
    thread's title): one hit per thread, the thread with the newest such post first.

    A thread is shown by its post whose own body holds the most terms, the earliest of those
    (so a thread found by its title alone shows its first post). Private channels count only
    for their members; deleted and hidden posts never appear.
    """
    terms = terms_of(query)
    readable = permissions.readable_channel_ids(session, viewer)
    if not terms or not readable:
        return []
    in_body = [_body_matches(session, t, n) for n, t in enumerate(terms)]
    in_title = [_title_matches(session, t) for t in terms]
    # Every matching post, ranked within its thread (rank 1 shows the thread), with the id of
    # its thread's newest matching post (the thread's place in the list).
    in_own_body = sum((case((m, 1), else_=0) for m in in_body), literal(0))
    per_thread = Post.thread_id
    matching = (
        select(
            Post.id.label("post_id"),
            func.row_number()
            .over(partition_by=per_thread, order_by=(in_own_body.desc(), Post.id))
            .label("rank"),
            func.max(Post.id).over(partition_by=per_thread).label("newest"),
        )
        .join(Thread, Post.thread_id == Thread.id)
        .where(
            Thread.channel_id.in_(readable),
            Post.deleted_at.is_(None),
            Post.hidden.is_(False),
            *(or_(body, title) for body, title in zip(in_body, in_title, strict=True)),
        )
        .subquery()
    )
    stmt = (
        select(Post, Thread, Channel)
        .join(matching, matching.c.post_id == Post.id)
        .join(Thread, Post.thread_id == Thread.id)
        .join(Channel, Thread.channel_id == Channel.id)
        .where(matching.c.rank == 1)
        .order_by(matching.c.newest.desc())
        .limit(limit)
    )
    return [_hit(post, thread, channel, terms) for post, thread, channel in session.execute(stmt)]


def _hit(post: Post, thread: Thread, channel: Channel, terms: list[str]) -> Hit:
    return Hit(
        post_id=post.id,
        thread_id=thread.id,
        thread_title=thread.title,
        channel_slug=channel.slug,
        channel_name=channel.name,
        author_name=post.author.name if post.author else "",
        created_at=post.created_at,
        snippet=highlight(post.body, terms),
        title_html=highlight(thread.title, terms, width=len(thread.title)),
    )


def highlight(body: str, terms: list[str], width: int = SNIPPET_CHARS) -> Markup:
    """Cut a window of ``body`` around the first term and wrap every term in <mark> (escaped).

    >>> str(highlight("会議の<予算>について", ["予算"]))
    '会議の&lt;<mark>予算</mark>&gt;について'
    >>> str(highlight("棚の写真\\n![棚.png](/attachments/3/%E6%A3%9A.png)", ["棚"]))
    '<mark>棚</mark>の写真 📎 <mark>棚</mark>.png'
    """
    # A mail's photo shown in its post reads as its file's name, as in a digest's excerpt.
    body = SHOWN.sub(lambda m: f"📎 {m.group('name')}", body)
    flat = " ".join(MARKUP.sub("", body).split())
    if not terms:
        return escape(flat[:width])
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.I)
    first = pattern.search(flat)
    start = 0
    if first is not None and len(flat) > width:
        start = max(0, min(first.start() - width // 3, len(flat) - width))
    window = flat[start : start + width]
    pieces: list[str] = ["…" if start > 0 else ""]
    last = 0
    for m in pattern.finditer(window):
        pieces.append(str(escape(window[last : m.start()])))
        pieces.append(f"<mark>{escape(m.group(0))}</mark>")
        last = m.end()
    pieces.append(str(escape(window[last:])))
    if start + width < len(flat):
        pieces.append("…")
    return Markup("".join(pieces))
