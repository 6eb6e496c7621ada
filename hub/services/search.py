"""Search over what a reader may see: post bodies and thread titles, Japanese included.

SQLite: the FTS5 trigram index (hub/search.py) answers terms of three or more characters;
shorter terms (予算, 会議) use LIKE on the base table, never on the FTS table, whose LIKE is
wrong for short non-ASCII patterns on SQLite 3.40 (LIBRARIES.md §9). PostgreSQL: ILIKE, which
the pg_trgm GIN indexes serve for terms of three or more characters.

Terms and text are compared in their NFKC forms (hub.search.fold): 「Ａ社」 finds 「A社」,
「１０％」 finds 「10%」, 「ｶﾅ」 finds 「カナ」, and the other way round; the snippet marks the
words as they are written.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape
from sqlalchemy import (
    ColumnElement,
    Integer,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from hub import permissions
from hub.db import is_postgres
from hub.models import Channel, Post, Thread, User
from hub.search import SQLITE_FOLD
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
    """Split a query on white space (ASCII and ideographic), without repeats, each term in its
    NFKC form (full-width letters and digits as ASCII, half-width kana as full-width).

    >>> terms_of("予算　会議  budget 予算")
    ['予算', '会議', 'budget']
    >>> terms_of("Ａ社　１０％ ｶﾀﾛｸﾞ")
    ['A社', '10%', 'カタログ']

    Control characters (a NUL from a pasted or crafted URL) are dropped: PostgreSQL refuses
    NUL in text and FTS5 ends its query string there.

    >>> terms_of("a" + chr(0) + "b " + chr(0))
    ['ab']
    """
    seen: dict[str, None] = {}
    for word in CONTROL.sub("", _nfkc(query)).split():
        seen.setdefault(word[:100], None)
    return list(seen)[:MAX_TERMS]


def _fts_phrase(term: str) -> str:
    # An FTS5 string: double quotes inside are doubled; the trigram tokenizer matches substrings.
    return '"' + term.replace('"', '""') + '"'


def _folded(session: Session, column: InstrumentedAttribute[str]) -> ColumnElement[str]:
    """The column in its NFKC form, as the search index holds it (hub.search)."""
    if is_postgres(session):
        # The very expression the GIN indexes are built on: normalize(body, NFKC).
        return func.normalize(column, literal_column("NFKC"))
    return getattr(func, SQLITE_FOLD)(column)  # type: ignore[no-any-return]


def _body_matches(session: Session, term: str, n: int) -> ColumnElement[bool]:
    if is_postgres(session):
        return _folded(session, Post.body).icontains(term, autoescape=True)
    if len(term) >= 3:
        name = f"fts{n}"
        rows = text(f"SELECT rowid FROM post_fts WHERE post_fts MATCH :{name}").bindparams(
            **{name: _fts_phrase(term)}
        )
        return Post.id.in_(rows.columns(rowid=Integer))
    return _folded(session, Post.body).contains(term, autoescape=True)


def _title_matches(session: Session, term: str) -> ColumnElement[bool]:
    if is_postgres(session):
        return _folded(session, Thread.title).icontains(term, autoescape=True)
    return _folded(session, Thread.title).contains(term, autoescape=True)


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

    Terms are found in the text's NFKC form and marked as written:

    >>> str(highlight("Ａ社の値引き、１０％まで", ["a社", "10%"]))
    '<mark>Ａ社</mark>の値引き、<mark>１０％</mark>まで'
    """
    # A mail's photo shown in its post reads as its file's name, as in a digest's excerpt.
    body = SHOWN.sub(lambda m: f"📎 {m.group('name')}", body)
    flat = " ".join(MARKUP.sub("", body).split())
    found = list(_found(flat, terms)) if terms else []
    start = 0
    if found and len(flat) > width:
        start = max(0, min(found[0][0] - width // 3, len(flat) - width))
    end = start + width
    pieces: list[str] = ["…" if start > 0 else ""]
    last = start
    for first, after in found:
        if first < start or after > end:
            continue
        pieces.append(str(escape(flat[last:first])))
        pieces.append(f"<mark>{escape(flat[first:after])}</mark>")
        last = after
    pieces.append(str(escape(flat[last:end])))
    if end < len(flat):
        pieces.append("…")
    return Markup("".join(pieces))


def _found(text: str, terms: list[str]) -> Iterator[tuple[int, int]]:
    """Where the terms are in ``text``: (start, end) of each, as written, matched in the NFKC
    form of the text (ignoring case), left to right."""
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.I)
    folded, starts, ends = _folded_text(text)
    for m in pattern.finditer(folded):
        if m.end() > m.start():
            yield starts[m.start()], ends[m.end() - 1]


def _folded_text(text: str) -> tuple[str, list[int], list[int]]:
    """``text`` in its NFKC form, and for each of its characters where the written characters
    it comes from start and end in ``text``.

    A character is folded together with the marks that follow it (ｶﾞ is one ガ), so a term never
    begins or ends inside what one written character became (㍿ is 株式会社: all of it marked).

    >>> _folded_text("ｶﾞ㍿")
    ('ガ株式会社', [0, 2, 2, 2, 2], [2, 3, 3, 3, 3])
    """
    if unicodedata.is_normalized("NFKC", text):
        return text, list(range(len(text))), list(range(1, len(text) + 1))
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    while i < len(text):
        j = i + 1
        # Marks that join the character before them once folded (the half-width ﾞ and ﾟ too).
        while j < len(text) and unicodedata.combining(_nfkc(text[j])[:1] or "a"):
            j += 1
        piece = _nfkc(text[i:j])
        out.append(piece)
        starts.extend([i] * len(piece))
        ends.extend([j] * len(piece))
        i = j
    return "".join(out), starts, ends


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)
