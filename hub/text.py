"""Markdown to safe HTML, @mentions, and plain-text helpers shared by pages and mail."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from html import escape

import nh3
from markdown_it import MarkdownIt

# A mention is @ followed by a member's local part or a name without spaces; it may not start
# inside an ASCII word or an address (foo@bar), but may follow Japanese text (確認は@田中さん).
MENTION = re.compile(r"(?<![A-Za-z0-9_@.+-])@([\w.+-]{1,64}(?:@[\w.-]+\.\w+)?)")

# URLs stop at whitespace, at Japanese punctuation and at any non-ASCII character, so
# "https://example.com/資料です" links only the ASCII part (linkify-it would swallow the Japanese).
URL = re.compile(r"https?://[!#-;=?-\[\]_a-z~%]+", re.IGNORECASE)

ALLOWED_TAGS = {
    "a", "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody",
    "tr", "th", "td", "img", "span",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "span": {"class", "title"},
    "th": {"align"},
    "td": {"align"},
}
# A link may carry one class: a mention of a member (written by mark_mentions, never by a post).
ALLOWED_CLASSES = {"a": {"mention"}}
# Text inside these is shown as written: no links, no mentions.
_VERBATIM = {"a", "code", "pre"}


@dataclass(frozen=True, slots=True)
class MentionLink:
    """How to show an @handle that names a member: the first ``length`` characters after the @
    name them (``@田中さんに`` names 田中 with 2), their name, and their page if they have one."""

    length: int
    name: str
    href: str | None


@lru_cache(maxsize=1)
def _md() -> MarkdownIt:
    # html=False: raw HTML in a post is shown as text, never passed through.
    return MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(
        ["table", "strikethrough"]
    )


def _linkify(html: str) -> str:
    """Turn bare URLs in text nodes (not inside tags or existing links) into links."""
    out: list[str] = []
    in_link = 0
    for piece in re.split(r"(<[^>]+>)", html):
        if piece.startswith("<"):
            if piece.startswith("<a ") or piece == "<a>":
                in_link += 1
            elif piece == "</a>":
                in_link = max(0, in_link - 1)
            out.append(piece)
        elif in_link or "http" not in piece:
            out.append(piece)
        else:
            out.append(URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', piece))
    return "".join(out)


def _mark_mentions(html: str, mentions: Mapping[str, MentionLink]) -> str:
    """Wrap the @handles in text nodes that name a member (keys as ``mention_handles`` gives
    them) in a highlighted link to their page, or a span; other @words stay plain text."""

    def swap(m: re.Match[str]) -> str:
        found = mentions.get(m.group(1).lower().rstrip("."))
        if found is None:
            return m.group(0)
        shown, rest = m.group(0)[: 1 + found.length], m.group(0)[1 + found.length :]
        title = escape(found.name, quote=True)
        if found.href is None:
            return f'<span class="mention" title="{title}">{shown}</span>{rest}'
        href = escape(found.href, quote=True)
        return f'<a class="mention" href="{href}" title="{title}">{shown}</a>{rest}'

    out: list[str] = []
    inside: list[str] = []
    for piece in re.split(r"(<[^>]+>)", html):
        if piece.startswith("</"):
            if inside and inside[-1] == piece[2:-1].strip():
                inside.pop()
            out.append(piece)
        elif piece.startswith("<"):
            tag = re.match(r"<([a-z0-9]+)", piece)
            if tag and tag.group(1) in _VERBATIM and not piece.endswith("/>"):
                inside.append(tag.group(1))
            out.append(piece)
        elif inside or "@" not in piece:
            out.append(piece)
        else:
            out.append(MENTION.sub(swap, piece))
    return "".join(out)


def render_markdown(text: str, mentions: Mapping[str, MentionLink] | None = None) -> str:
    """Render a post's Markdown to HTML that is safe to show (no script, no handlers); the
    @handles ``mentions`` resolves are highlighted as links to the members they name."""
    html = _linkify(_md().render(text))
    if mentions:
        html = _mark_mentions(html, mentions)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def mention_handles(text: str) -> list[str]:
    """Return the @handles written in ``text``, lower-cased, in order, without repeats."""
    seen: dict[str, None] = {}
    for m in MENTION.finditer(text):
        seen.setdefault(m.group(1).lower().rstrip("."), None)
    return list(seen)


def show_names(text: str, mentioned: Iterable[tuple[str, str]]) -> str:
    """Show the @handles in ``text`` of the (email, name) members it mentions as their names
    (``@yamamoto`` and ``@yamamoto@corp.example`` become ``@山本 誠``), for mail."""
    names: dict[str, str] = {}
    for email, name in mentioned:
        names[email.lower()] = name
        names.setdefault(email.split("@")[0].lower(), name)
    if not names:
        return text

    def swap(m: re.Match[str]) -> str:
        name = names.get(m.group(1).lower().rstrip("."))
        return f"@{name}" if name else m.group(0)

    return MENTION.sub(swap, text)


def snippet(text: str, length: int = 140) -> str:
    """Return the first ``length`` characters of ``text`` on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"
