"""Markdown as plain text, for the text part of mail: what the HTML part shows, without markup."""

from __future__ import annotations

from urllib.parse import unquote

from markdown_it.token import Token

from hub.text import _md, snippet

# Blocks after which a blank line separates what follows.
_BLOCK_ENDS = {
    "paragraph_close",
    "heading_close",
    "blockquote_close",
    "bullet_list_close",
    "ordered_list_close",
    "table_close",
    "fence",
    "code_block",
    "hr",
}


def _inline(token: Token) -> str:
    """An inline run as text: emphasis markers dropped, a link as "text (address)"."""
    parts: list[str] = []
    links: list[tuple[str, int]] = []
    for child in token.children or []:
        kind = child.type
        if kind in ("text", "code_inline"):
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif kind == "link_open":
            links.append((str(child.attrGet("href") or ""), len(parts)))
        elif kind == "link_close" and links:
            href, start = links.pop()
            label = "".join(parts[start:])
            if href and href not in (label, f"mailto:{label}"):
                parts.append(f" ({href})")
        elif kind == "image":
            parts.append(_image(child.content, str(child.attrGet("src") or "")))
    return "".join(parts)


def _image(alt: str, src: str) -> str:
    """An image as text: "alt (address)"; one of the hub's own files (a path here, e.g. a
    mail's inline image shown in its post) as "📎 name", as a file is named in a digest.

    >>> _image("図", "https://example.com/a.png"), _image("", "/attachments/3/%E5%86%99.png")
    ('図 (https://example.com/a.png)', '📎 写.png')
    """
    if src.startswith("/"):
        return f"📎 {alt or unquote(src.rsplit('/', 1)[-1])}"
    return f"{alt} ({src})".strip()


class _Writer:
    """Lines with the prefixes of the blocks they are in: "> " for a quote, the list marker on
    an item's first line and its width of spaces on the next ones."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.prefixes: list[str] = []
        self.marker: str | None = None

    def line(self, text: str) -> None:
        if self.marker is not None:
            head = "".join(self.prefixes[:-1]) + self.marker
            self.marker = None
        else:
            head = "".join(self.prefixes)
        self.lines.append((head + text).rstrip())

    def blank(self) -> None:
        if self.lines and self.lines[-1].strip(" >"):
            self.lines.append("".join(self.prefixes).rstrip())

    def end_quote(self) -> None:
        """Drop the quote's own trailing "> " line: the blank after it is outside the quote."""
        while self.lines and not self.lines[-1].strip(" >"):
            self.lines.pop()

    def text(self) -> str:
        return "\n".join(self.lines).strip("\n")


def markdown_text(source: str) -> str:
    """Render Markdown as readable plain text (``**bold**`` as ``bold``, lists with "- " and
    "1. ", quotes with "> ", links as "text (address)", table rows as "a | b")."""
    out = _Writer()
    counters: list[int | None] = []  # None for a bullet list, the next number for an ordered one
    row: list[str] | None = None
    for token in _md().parse(source):
        kind = token.type
        if kind == "bullet_list_open":
            counters.append(None)
        elif kind == "ordered_list_open":
            counters.append(int(token.attrGet("start") or 1))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            counters.pop()
        elif kind == "list_item_open":
            number = counters[-1] if counters else None
            marker = "- " if number is None else f"{number}. "
            if number is not None:
                counters[-1] = number + 1
            out.prefixes.append(" " * len(marker))
            out.marker = marker
        elif kind == "list_item_close":
            out.prefixes.pop()
        elif kind == "blockquote_open":
            out.prefixes.append("> ")
        elif kind == "blockquote_close":
            out.prefixes.pop()
            out.end_quote()
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close" and row is not None:
            out.line(" | ".join(row))
            row = None
        elif kind == "inline":
            if row is not None:
                row.append(_inline(token).replace("\n", " "))
            else:
                for text in _inline(token).split("\n"):
                    out.line(text)
        elif kind in ("fence", "code_block"):
            for text in token.content.rstrip("\n").split("\n"):
                out.line("    " + text)
        elif kind == "hr":
            out.line("-" * 20)
        if kind in _BLOCK_ENDS and not token.hidden and not _tight_item_end(kind, counters):
            out.blank()
    return out.text()


def _tight_item_end(kind: str, counters: list[int | None]) -> bool:
    """A list nested in an item runs on into the item's next sibling, with no blank line."""
    return kind in ("bullet_list_close", "ordered_list_close") and bool(counters)


def excerpt(source: str, length: int = 140) -> str:
    """The start of a post's Markdown as one line of plain text (a digest's excerpt).

    Only the start of the source is read, to the end of a line (inline markup seldom spans
    lines): markup that vanishes in text (emphasis, a link's target) seldom takes three times
    the words it marks, so what is cut off lies past the excerpt's end, and a long post costs
    what a short one does.
    """
    end = source.find("\n", length * 4)
    return snippet(markdown_text(source if end < 0 else source[:end]), length)
