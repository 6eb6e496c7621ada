"""The copy of a digest a reply carries, and the answers written into it.

Outlook quotes without '>': its reply is the member's text, a 差出人:/From: block and the digest
as it was, with answers typed between its lines. Its HTML reply (often with no text part) is
read as text (``htmltext.html_to_text``): the digest's lines then carry their links
("[#15] [売上速報](http://…/t/15)"), and Outlook re-wraps them. A line is the digest's when its
words are those of a line of the digest's text or HTML part, or a long enough piece of them.
"""

from __future__ import annotations

import email
import email.policy
import re
import unicodedata

from mailbridge.htmltext import html_to_text

__all__ = ["MARKER", "digest_keys", "unquoted_answers"]

# "[#123]" or "#123" not inside a word; the number is a thread id. Japanese input methods type
# it full-width ("＃１２３", "［＃１２３］"); \d takes full-width digits and int() reads them.
MARKER = re.compile(r"(?<![\w&])[\[［]?[#＃](\d{1,10})[\]］]?")
# A link's target: "[title](http://…)" in a reply read from HTML, "<mailto:…>" in the digest's
# text part, a bare URL. A digest line is known by its words, however its client wrote links.
_LINK = re.compile(r"\]\([^)\s]*\)|<(?:https?|mailto):[^>\s]*>|(?:https?|mailto):\S+", re.I)
# Characters (letters and digits) a re-wrapped piece of a digest line needs to be known as one.
_PIECE = 12
# Lines of a reply read for answers in an unquoted digest (a digest is far shorter).
_MAX_LINES = 5000


def _words(line: str) -> str:
    """A line's letters and digits: width, case, spaces and punctuation ignored (a client
    re-encoding the digest in ISO-2022-JP turns "·" into "?"; quoting adds ">")."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", line)).lower()


def _key(line: str) -> str:
    """A line compared with the digest's: its words, without the targets of its links."""
    return _words(_LINK.sub(" ", line))


def digest_keys(raw: bytes) -> list[list[str]]:
    """The keys of a digest mail's lines, in order: those of its text part, then those of its
    HTML part read as an HTML reply is; each once without the targets of its links and once
    with them (a client wrapping a long link quotes it in pieces)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts: list[list[str]] = []
    for subtype in ("plain", "html"):
        body = msg.get_body((subtype,))
        if body is None:
            continue
        text = str(body.get_content())
        lines = (html_to_text(text) if subtype == "html" else text).splitlines()
        for key_of in (_key, _words):
            parts.append([key for line in lines if (key := key_of(line))])
    return parts


def unquoted_answers(text: str, digest: list[list[str]]) -> list[tuple[str, str]]:
    """(last digest item line above, answer) pairs written into an unquoted copy of the digest.

    Lines below the copy's first line that are not the digest's are answers to the item above
    them. Only a copy with at least three unquoted digest lines counts, so a '>'-quoted digest
    (whose answers ``quotes.inline_answers`` finds) gives nothing here.
    """
    lines = {key for part in digest for key in part}
    if not lines:
        return []
    # A client re-wraps long lines, or joins short ones (Outlook reflows an HTML digest): a
    # long enough run of the digest's words, in the digest's order, is the digest's.
    stream = "\n".join("".join(part) for part in digest)
    pairs: list[tuple[str, str]] = []
    item = ""  # the last digest line above that names an item ("[#123] ...")
    answer: list[str] = []
    copied = 0
    inside = False
    run = ""  # the digest's words read so far, when a client wrapped a line over several
    rows = text.replace("\r\n", "\n").split("\n")[:_MAX_LINES]
    keyed = [[k for k in dict.fromkeys((_key(row), _words(row))) if k] for row in rows]
    for i, line in enumerate(rows):
        keys = keyed[i]
        # The rest of a wrapped line (a whole line of the digest is a line of its own).
        rest = [f"{run}{k}" for k in keys if run and k not in lines and f"{run}{k}" in stream]
        known = [
            k
            for k in keys
            if k in lines
            or (len(k) >= _PIECE and k in stream)
            or _wrapped(k, keyed[i + 1 : i + 4], lines, stream)
        ]
        run = rest[0] if rest else known[0] if known else ""
        if run:
            inside = True
            copied += not rest and not line.lstrip().startswith(">")
            if any(map(_words, answer)):
                pairs.append((item, _answer(answer)))
            answer = []
            item = line if MARKER.search(line) else item
        elif inside and not line.lstrip().startswith(">"):
            answer.append(line)
    if any(map(_words, answer)):
        pairs.append((item, _answer(answer)))
    return pairs if copied >= 3 else []


def _wrapped(key: str, ahead: list[list[str]], lines: set[str], stream: str) -> bool:
    """Tell whether a short line begins a digest line a client wrapped over the next lines
    ("山本" above "太郎 さん、…以降の新着です。"): with theirs, its words are a long enough run
    of the digest's."""
    joined = key
    for keys in ahead:
        if not keys or keys[0] in lines:
            return False
        joined += keys[0]
        if len(joined) >= _PIECE:
            return joined in stream
    return False


def _answer(lines: list[str]) -> str:
    """An answer's lines, without the wordless ones around it (the digest's "---" rule)."""
    first = next(k for k, line in enumerate(lines) if _words(line))
    last = max(k for k, line in enumerate(lines) if _words(line))
    return "\n".join(lines[first : last + 1]).strip()
