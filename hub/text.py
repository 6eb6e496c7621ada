"""Markdown to safe HTML, @mentions, and plain-text helpers shared by pages and mail."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

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
    "span": {"class"},
    "th": {"align"},
    "td": {"align"},
}


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


def render_markdown(text: str) -> str:
    """Render a post's Markdown to HTML that is safe to show (no script, no handlers)."""
    html = _linkify(_md().render(text))
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
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
    (``@yamamoto`` and ``@yamamoto@corp.example`` become ``@山本 部長``), for mail."""
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
