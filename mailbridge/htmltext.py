"""HTML mail to Markdown-ish text, and cutting quoted history out of HTML replies."""

from __future__ import annotations

import re
import warnings

from bs4 import BeautifulSoup, Comment, Tag
from bs4.element import PageElement
from markdownify import MarkdownConverter

__all__ = ["html_to_text", "strip_html_quote"]

# Quoted-history containers, in the order clients write them (see LIBRARIES.md §1-2):
# Gmail, Apple Mail/Thunderbird (blockquote type=cite), Outlook desktop/web, Yahoo.
_QUOTE_SELECTOR = (
    "div.gmail_quote, div.gmail_quote_container, "
    "div.gmail_signature, blockquote[type=cite], div#divRplyFwdMsg,"
    " div#appendonsend, div.moz-cite-prefix, div.yahoo_quoted, div[style*=border-top]"
)
# Outlook's header box: "border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0mm 0mm 0mm" (ja uses mm).
_OUTLOOK_BORDER = re.compile(
    r"border-top:\s*solid[^;]*;\s*padding:\s*[\d.]+pt\s+0(?:in|cm|mm|pt)?", re.I
)
_HEADER_LABEL = re.compile(r"(?:From|Von|De|Da|Van|差出人|送信者|发件人)\s*[:：]", re.I)
_BLANK_RUN = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")
_DROP = ("style", "script", "head", "title", "meta", "link", "xml", "o:smarttagtype")
# Outlook desktop (Word) writes each line as a <p class=MsoNormal> with no margins, and a blank
# line as an empty one (<o:p>&nbsp;</o:p>). Each such paragraph is marked START…END before
# converting, so that after it the blank line Markdown puts between two paragraphs can go again
# (control characters no mail text holds: any in the HTML are dropped first).
_START, _END = "\x02", "\x03"
_MARK_SPACE = re.compile(r"\x02[ \t\r\n]+|[ \t\r\n]+\x03")
_EMPTY_WORD_LINE = re.compile(r"\x02\s*\x03")
# Two Word lines a paragraph break apart (inside a quote the blank line is ">"), unless the
# second is all "-" or "=", which would make the first a heading in Markdown.
_WORD_BREAK = re.compile(r"\x03\n[ >]*\n([ >]*)\x02(?![ \t]*(?:-+|=+)[ \t]*\x03)")


def _soup(html: str) -> BeautifulSoup:
    """Parse HTML with lxml, silencing bs4's heuristics warnings (pytest treats them as errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BeautifulSoup(html, "lxml")


def _clean(soup: BeautifulSoup) -> None:
    """Remove elements and comments that must never reach the text (CSS, MSO islands)."""
    for name in _DROP:
        for el in soup.find_all(name):
            el.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    # Gmail's text alternative puts "-- " above the signature; do the same so the text
    # stripper can cut it.
    for sig in soup.select("div.gmail_signature"):
        delimiter = soup.new_tag("p")
        delimiter.string = "-- "
        sig.insert_before(delimiter)


def _mark_word_lines(soup: BeautifulSoup) -> None:
    """Mark where each of Outlook's line paragraphs starts and ends (see ``_WORD_BREAK``)."""
    for p in soup.select("p.MsoNormal"):
        p.insert(0, _START)
        p.append(_END)


def _word_lines(text: str) -> str:
    """Join Outlook's line paragraphs a line apart; an empty one stays as the blank line."""
    text = _MARK_SPACE.sub(lambda m: m.group().strip(" \t\r\n"), text)
    text = _WORD_BREAK.sub("\x03\n\\1\x02", text)
    text = _EMPTY_WORD_LINE.sub("", text)
    return text.replace(_START, "").replace(_END, "")


class _Converter(MarkdownConverter):
    """markdownify with mail-friendly defaults."""

    def __init__(self) -> None:
        super().__init__(
            heading_style="ATX", bullets="-", table_infer_header=True, escape_misc=False
        )


def html_to_text(html: str) -> str:
    """Convert an HTML mail body to Markdown-ish text (quotes as '> ', links as [text](url))."""
    if not html or not html.strip():
        return ""
    html = html.replace(_START, "").replace(_END, "")
    try:
        soup = _soup(html)
        _clean(soup)
        _mark_word_lines(soup)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = _word_lines(_Converter().convert_soup(soup))
    except Exception:  # noqa: BLE001 - a converter bug must not lose the message
        soup = _soup(html)
        _clean(soup)
        text = soup.get_text("\n")
    text = text.replace("\r\n", "\n").replace("\xa0", " ")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUN.sub("\n\n", text).strip("\n")


def _is_quote(el: Tag) -> bool:
    """Tell whether a selector hit really is quoted history (border divs need a From: label)."""
    style = str(el.get("style") or "")
    if el.name == "div" and "border-top" in style and not el.get("id") and not el.get("class"):
        return bool(_OUTLOOK_BORDER.search(style)) and bool(_HEADER_LABEL.search(el.get_text()))
    return True


def _cut_from(el: Tag) -> list[PageElement]:
    """Detach ``el`` and everything after it in document order; return the detached nodes."""
    removed: list[PageElement] = []
    node: PageElement | None = el
    while node is not None and getattr(node, "name", None) not in ("body", "html", "[document]"):
        parent = node.parent
        removed.extend(sib.extract() for sib in list(node.next_siblings))
        node = parent
    removed.insert(0, el.extract())
    return removed


def strip_html_quote(html: str) -> tuple[str, str]:
    """Split an HTML reply into (kept HTML, trimmed quoted-history HTML).

    Cuts at the first Gmail quote, cite blockquote, Outlook reply header (``#divRplyFwdMsg``,
    ``#appendonsend`` or the border-top box, also with ``mm`` padding) and everything after it.
    """
    if not html or not html.strip():
        return html or "", ""
    soup = _soup(html)
    hit = next((el for el in soup.select(_QUOTE_SELECTOR) if _is_quote(el)), None)
    if hit is None:
        return html, ""
    # Outlook puts the header box inside a plain div after an <hr>: cut at that wrapper.
    if (
        hit.get("style")
        and hit.parent is not None
        and hit.parent.name == "div"
        and not hit.parent.attrs
    ):
        siblings = [s for s in hit.parent.contents if isinstance(s, Tag)]
        if siblings and siblings[0] is hit:
            hit = hit.parent
    prev = hit.find_previous_sibling()
    if isinstance(prev, Tag) and prev.name == "hr":
        hit = prev
    removed = _cut_from(hit)
    trimmed = "".join(str(node) for node in removed)
    return str(soup), trimmed
