"""Inline images kept where the mail shows them.

A mail shows an inline image between its words: the iPhone sends a text part, the photo
(Content-Disposition: inline), then another text part; Apple Mail and Outlook place it in their
HTML (``<img src="cid:...">``) while the text part, the one read, says nothing of it. ``places``
reads where each image stands in the mail as shown (the words just before it and just after
it); ``in_place`` puts each stored image, as a Markdown image of its file, on a line of its own
after the line of the post where those words meet. Words are compared as letters and digits
only, so Markdown, quoting ("> ") and line breaks do not matter. An image whose words are not in
the post (in a trimmed quote or signature) or that stands alone is not placed: it stays a file
of the post, listed under it. HTML read as the text (a mail without a text part) already holds
its images as ``![...](cid:...)``, pointed at the stored files by ``resolved``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from email.message import Message

__all__ = ["Place", "in_place", "places", "resolved"]

# How many letters and digits on each side locate an image.
CONTEXT = 32
# The words before an image and after it (letters and digits only; "" at the mail's ends).
Place = tuple[str, str]

_WORD = re.compile(r"[^\W_]+")
_IMAGE = re.compile(r"!\[[^\]\n]{0,300}\]\([^)\s]{1,2000}\)")
_CID = re.compile(r"!\[[^\]\n]{0,300}\]\(cid:([^)\s]{1,500})\)")
# What a text part writes where its HTML shows an image: Gmail "[image: IMG_0123.png]",
# Outlook "[cid:image001.png@01DB1234.56789AB0]".
_PLACEHOLDER = re.compile(r"\[(?:image: [^\]\n]{0,300}|cid:([^\]\s]{1,500}))\]")
_MARK = re.compile(f"{_IMAGE.pattern}|{_PLACEHOLDER.pattern}")
_QUOTE = re.compile(r"(?:[ \t]{0,3}>[ \t]?)*")

# What the mail shows, in order: text, an image part, or an image the HTML names by Content-ID.
_Item = str | Message | tuple[str]


def places(msg: Message, text_of: Callable[[Message], str]) -> dict[Message | str, Place]:
    """Where each inline image of ``msg`` stands, keyed by its part, or by its Content-ID for
    one an HTML part shows; ``text_of`` reads a text part (HTML as Markdown-ish text)."""
    items: list[_Item] = []
    _shown(msg, text_of, items)
    words = [_words(item) if isinstance(item, str) else None for item in items]
    found: dict[Message | str, Place] = {}
    before = ""
    befores: list[str] = []
    for w in words:
        befores.append(before)
        if w is not None:
            before = (before + w[-CONTEXT:])[-CONTEXT:]
    after = ""
    for i in range(len(items) - 1, -1, -1):
        w, item = words[i], items[i]
        if w is not None:
            after = (w[:CONTEXT] + after)[:CONTEXT]
            continue
        key = item[0] if isinstance(item, tuple) else item
        if (befores[i] or after) and key not in found:
            found[key] = (befores[i], after)
    return found


def _shown(part: Message, text_of: Callable[[Message], str], out: list[_Item]) -> None:
    """Append what ``part`` shows: of an alternative its richest rendition (the last text or
    multipart one, RFC 2046), of a related its root (the rest is shown where it names them)."""
    ctype = part.get_content_type()
    if part.is_multipart():
        if ctype.startswith("message/"):
            return
        children = [p for p in part.get_payload() if isinstance(p, Message)]
        if ctype == "multipart/alternative":
            shown = [p for p in children if p.is_multipart() or p.get_content_maintype() == "text"]
            children = shown[-1:]
        elif ctype == "multipart/related":
            children = children[:1]
        for child in children:
            _shown(child, text_of, out)
        return
    if (part.get_content_disposition() or "").lower() == "attachment":
        return
    if ctype == "text/plain":
        out.append(text_of(part))
    elif ctype == "text/html":
        text, start = text_of(part), 0
        for m in _CID.finditer(text):
            out += [text[start : m.start()], (m.group(1),)]
            start = m.end()
        out.append(text[start:])
    elif part.get_content_maintype() == "image":
        out.append(part)


def _words(text: str) -> str:
    """The letters and digits of ``text``, images (Markdown, a text part's marks) left out."""
    return "".join(_WORD.findall(_MARK.sub(" ", text)))


def in_place(text: str, images: Sequence[tuple[Place, str]]) -> str:
    """Put each image's Markdown where its words meet in ``text`` (images in the mail's
    order; one not found is left out): in place of the text part's own mark for it if one
    stands there (Gmail's "[image: IMG_0123.png]"), else on a line of its own after the line
    its words before end on."""
    masked = _MARK.sub(lambda m: " " * len(m.group()), text)
    key_starts: list[int] = []
    text_starts: list[int] = []
    runs: list[str] = []
    n = 0
    for m in _WORD.finditer(masked):
        key_starts.append(n)
        text_starts.append(m.start())
        runs.append(m.group())
        n += len(m.group())
    key = "".join(runs)

    def at(k: int) -> int:
        """The index in ``text`` of the ``k``-th letter or digit (its length past the last)."""
        if k >= len(key):
            return len(text)
        i = bisect_right(key_starts, k) - 1
        return text_starts[i] + (k - key_starts[i])

    edits: list[tuple[int, int, int, str]] = []  # start, end, order, what goes there
    used: set[int] = set()
    cursor = 0
    for seq, ((before, after), markdown) in enumerate(images):
        p = _find(key, before, after, cursor) if key and (before or after) else None
        if p is None:
            continue
        cursor = p - len(before)
        gap = at(p - 1) + 1 if before else 0
        mark = next(
            (m for m in _PLACEHOLDER.finditer(text, gap, at(p)) if m.start() not in used), None
        )
        if mark is not None:
            used.add(mark.start())
            edits.append((mark.start(), mark.end(), seq, markdown))
            continue
        start = text.rfind("\n", 0, at(p - 1 if before else p)) + 1
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        prefix = _prefix(text[start:end])
        if before:
            edits.append((end, end, seq, f"\n{prefix}{markdown}"))
        else:
            edits.append((start, start, seq, f"{prefix}{markdown}\n"))
    out, last = [], 0
    for start, end, _, piece in sorted(edits):
        out += [text[last:start], piece]
        last = end
    out.append(text[last:])
    return "".join(out)


def _prefix(line: str) -> str:
    """The quote marks ("> ") a line starts with: an image placed in a quote stays in it."""
    m = _QUOTE.match(line)
    return m.group() if m else ""


def _find(key: str, before: str, after: str, cursor: int) -> int | None:
    """The position in ``key`` just past ``before`` where ``after`` follows (or the post ends
    before all of it: the signature under the image was trimmed), at or after ``cursor``; an
    image with nothing before it goes first. Plain substring searches: linear."""
    if not before:
        return cursor if cursor == 0 and after.startswith(key[: len(after)]) else None
    p = key.find(before + after, cursor)
    if p >= 0:
        return p + len(before)
    for k in range(len(after) - 1, -1, -1):
        tail = before + after[:k]
        if key.endswith(tail) and len(key) - len(tail) >= cursor:
            return len(key) - k
    return None


def resolved(text: str, by_cid: dict[str, str]) -> str:
    """Point the images HTML read as text names by Content-ID (``![...](cid:...)``) and
    Outlook's marks for them in a text part (``[cid:...]``) at their stored files' Markdown
    (``by_cid``); drop the ``![...](cid:...)`` with no stored file (refused, or not in the
    mail), which no page can show."""
    text = _CID.sub(lambda m: by_cid.get(m.group(1), ""), text)
    return _PLACEHOLDER.sub(lambda m: by_cid.get(m.group(1) or "", m.group(0)), text)
