"""Strip quoted history and signatures from replies (en/ja and more), keeping inline answers."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from mailbridge.quote_patterns import (
    ATTRIBUTION,
    ATTRIBUTION_START,
    FENCE,
    FROM_LINE,
    HDR_INLINE,
    HDR_LINE,
    MD_LINK,
    MOBILE,
    PROBE,
    QUOTE,
    REACTION_WORDS,
    REPLY_MARKER,
    SEPARATOR,
    SIG_DELIM,
    SKIN_TONES,
    STRONG_START,
    TAIL_WORDS,
    WEAK_ATTRIBUTION,
    is_emoji_char,
    sentence_end,
    tail_ok,
)

__all__ = ["Stripped", "inline_answers", "is_reaction", "reaction_of", "strip_reply"]

# Signature delimiters are only looked for in the last lines (talon's brute-force idea).
_SIG_WINDOW = 15
# A quoted block kept above an inline answer shows at most this many lines.
_QUOTE_CONTEXT = 10


@dataclass(frozen=True, slots=True)
class Stripped:
    """The new text of a reply, what was cut from it, and whether nothing could be cut safely."""

    text: str
    trimmed: str
    kept_whole: bool


@dataclass(slots=True)
class _Segment:
    kind: str  # "text" or "quote"
    lines: list[str]
    attributed: bool = False
    # Index of each line in the prepared lines, so whatever is not shown can go to ``trimmed``.
    idx: list[int] = field(default_factory=list)

    def add(self, lines: list[str], i: int) -> None:
        self.lines.append(lines[i])
        self.idx.append(i)

    def cut(self, n: int) -> None:
        """Keep only the first ``n`` lines."""
        del self.lines[n:], self.idx[n:]


def _kinds(lines: list[str]) -> list[str]:
    """Classify each line: e(mpty) q(uote) s(mobile signature) d(elimiter) h(eader) t(ext)."""
    kinds: list[str] = []
    fenced = False
    for line in lines:
        if not line or line.isspace():
            kinds.append("e")
            continue
        probe = line[:PROBE]
        if FENCE.match(probe):
            fenced = not fenced
            kinds.append("t")
        elif fenced:
            kinds.append("t")
        elif QUOTE.match(probe):
            kinds.append("q")
        elif len(line) > PROBE:
            kinds.append("t")
        elif SEPARATOR.fullmatch(line):
            kinds.append("h")
        elif SIG_DELIM.fullmatch(line):
            kinds.append("d")
        elif MOBILE.fullmatch(MD_LINK.sub(r"\1", line)):
            kinds.append("s")
        else:
            kinds.append("t")
    return kinds


def _attribution_span(lines: list[str], kinds: list[str], nxt: list[str], i: int) -> int:
    """Return how many lines an attribution starting at ``i`` spans (0 if none).

    Clients wrap long attributions (Gmail breaks before "<addr> wrote:"), so up to six lines
    are joined; blank lines are crossed only after a strong "On <date>" start.
    """
    first = lines[i][:PROBE]
    if kinds[i] != "t" or not ATTRIBUTION_START.match(first):
        return 0
    strong = STRONG_START.match(first) is not None
    chunk = ""
    best = 0
    for j in range(i, min(len(lines), i + 6)):
        if kinds[j] == "e" and not strong:
            return best
        part = lines[j].strip()
        part = part.lstrip(">").strip() if j > i else part
        if best and kinds[j] == "q" and not _continues_attribution(part):
            return best  # "> 管理者:" under "...<addr>:" is the quote, not more attribution.
        chunk = f"{chunk} {part}".strip() if part else chunk
        if len(chunk) > PROBE:
            return best
        if (
            part
            and tail_ok(part)
            and (
                ATTRIBUTION.fullmatch(chunk)
                or (WEAK_ATTRIBUTION.fullmatch(chunk) and nxt[j + 1] == "q")
            )
        ):
            best = j - i + 1  # Keep extending: "<addr>" may still be followed by "> wrote:".
        elif best or (kinds[j] == "t" and sentence_end(part)):
            return best
    return best


def _continues_attribution(part: str) -> bool:
    """Tell whether a quoted line can finish a wrapped attribution ("> wrote:", "<a@b>:")."""
    tail = part.rstrip(" \t.:：>-").lower()
    return tail.endswith((*TAIL_WORDS, "書きました", "のメール", "のメッセージ")) or "@" in part


def _header_block(lines: list[str], kinds: list[str], i: int) -> int:
    """Return the length of an Outlook-style header block at ``i`` (0 if none).

    Read from Outlook's HTML, the fields may stand a blank line apart (a paragraph each, or
    Word's line breaks around each <br>) or all on one line: three fields make a block then.
    """
    probe = lines[i][:PROBE]
    if kinds[i] != "t" or not FROM_LINE.match(probe):
        return 0
    if len(HDR_INLINE.findall(probe)) >= 2:
        return 1
    hits, j, end = 1, i + 1, i + 1
    while j < len(lines) and j < i + 16 and hits < 8:
        if kinds[j] == "e" and j + 1 < len(lines) and kinds[j + 1] == "t":
            j += 1  # a blank line between two fields
        if kinds[j] != "t" or not HDR_LINE.match(lines[j][:PROBE]):
            break
        hits += 1
        j += 1
        end = j
    return end - i if hits >= 3 or (hits == 2 and end - i == 2) else 0


def _next_kinds(kinds: list[str]) -> list[str]:
    """For each index, the kind of the first non-empty line at or after it ("" at the end)."""
    nxt = [""] * (len(kinds) + 1)
    for j in range(len(kinds) - 1, -1, -1):
        nxt[j] = nxt[j + 1] if kinds[j] == "e" else kinds[j]
    return nxt


def _segments(lines: list[str], kinds: list[str]) -> tuple[list[_Segment], int]:
    """Split lines into text and quote segments; return them and the hard-cut line index.

    Lines that belong to no segment (attributions, forwarded headers, "Sent from my iPhone")
    are not shown: the caller finds them missing from every segment and puts them in ``trimmed``.
    """
    segs: list[_Segment] = [_Segment("text", [])]
    nxt = _next_kinds(kinds)
    seen_text = False
    attributed = False
    i = 0
    while i < len(lines):
        kind = kinds[i]
        span = _attribution_span(lines, kinds, nxt, i) if kind == "t" else 0
        block = _header_block(lines, kinds, i) if kind == "t" and not span else 0
        if span:
            if seen_text and nxt[i + span] != "q":
                return segs, i
            attributed = True
            i += span
            continue
        if kind == "h" or block:
            if seen_text:
                return segs, i
            # Nothing written above: a forwarded message. Keep its body, drop its headers.
            i += 1 if kind == "h" else block
            if i < len(lines) and kinds[i] == "t" and HDR_LINE.match(lines[i][:PROBE]) or block:
                while i < len(lines) and kinds[i] == "t":
                    i += 1
            continue
        if kind == "q":
            quote = _Segment("quote", [], attributed)
            while i < len(lines) and (kinds[i] == "q" or (kinds[i] == "e" and nxt[i] == "q")):
                quote.add(lines, i)
                i += 1
            segs.append(quote)
            segs.append(_Segment("text", []))
            attributed = False
            continue
        if kind != "s":
            segs[-1].add(lines, i)
        seen_text = seen_text or kind == "t"
        i += 1
    return segs, len(lines)


def _has_text(seg: _Segment) -> bool:
    return seg.kind == "text" and any(line.strip() for line in seg.lines)


def _drop_signature(segs: list[_Segment], *, allow_first: bool = False) -> None:
    """Cut a trailing signature ("-- ", ━━━ box, ...) found in the last lines.

    Only the last lines are searched (talon's brute-force idea), never the first line, and never
    quoted lines, so a "-item" list or an underlined heading in the body stays.
    """
    where = [(k, n) for k, seg in enumerate(segs) for n in range(len(seg.lines))]
    while where and not segs[where[-1][0]].lines[where[-1][1]].strip():
        where.pop()
    first = (
        None if allow_first else next((p for p in where if segs[p[0]].lines[p[1]].strip()), None)
    )
    for k, n in where[-_SIG_WINDOW:]:
        line = segs[k].lines[n]
        if (k, n) != first and segs[k].kind == "text" and SIG_DELIM.fullmatch(line[:PROBE]):
            segs[k].cut(n)
            del segs[k + 1 :]
            return


def _context(quote: _Segment) -> list[tuple[int | None, str]]:
    """Trim a kept quoted block to its last few lines, which are what the answer replies to."""
    shown = list(zip(quote.idx, quote.lines, strict=True))
    if len(shown) <= _QUOTE_CONTEXT:
        return list(shown)
    return [(None, "> …"), *shown[-(_QUOTE_CONTEXT - 1) :]]


def _prepare(text: str) -> tuple[list[str], list[str], int]:
    """Normalise newlines and find our reply marker; return (lines, kinds, end).

    Only ``lines[:end]`` is the reply: the marker and everything below it are cut. A quoted
    marker with answers below it is an inline reply: that line alone is blanked (kind "e").
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kinds = _kinds(lines)
    for i, line in enumerate(lines):
        if "##-" in line[:PROBE] and REPLY_MARKER.search(line[:PROBE]):
            if kinds[i] != "q" or "t" not in kinds[i + 1 :]:
                return lines, kinds, i
            kinds[i] = "m"
            break
    return lines, kinds, len(lines)


def _split(text: str) -> tuple[list[str], list[_Segment]]:
    """Prepare ``text`` and segment it; return its lines and the segments of the reply."""
    lines, kinds, end = _prepare(text)
    if "m" in kinds:  # Skip the quoted marker as if it were not there.
        i = kinds.index("m")
        segs, _ = _segments(lines[:i] + lines[i + 1 : end], kinds[:i] + kinds[i + 1 : end])
        for seg in segs:
            seg.idx = [j + (j >= i) for j in seg.idx]
        return lines, segs
    segs, _ = _segments(lines[:end], kinds[:end])
    return lines, segs


def strip_reply(text: str) -> Stripped:
    """Return the new text of a reply, with quoted history and signatures cut off.

    Inline answers keep the end of the quoted block each one answers. Every line that is not
    shown in ``text`` is in ``trimmed``, in its original order, so nothing is lost. If nothing
    would remain, the whole text is kept and ``kept_whole`` is true.
    """
    if not text.strip():
        return Stripped(text=text, trimmed="", kept_whole=True)
    lines, segs = _split(text)
    if len(segs) > 1 and segs[-1].kind == "text":
        # A signature under the last quote is not an answer to it.
        _drop_signature(segs[-1:], allow_first=True)
    has_text = [_has_text(s) for s in segs]
    answers = sum(has_text)
    later = [False] * (len(segs) + 1)
    for k in range(len(segs) - 1, -1, -1):
        later[k] = later[k + 1] or has_text[k]
    kept = [
        seg
        for k, seg in enumerate(segs)
        if seg.kind == "text" or (later[k + 1] and (answers >= 2 or not seg.attributed))
    ]
    _drop_signature(kept)
    out: list[tuple[int | None, str]] = []
    for seg in kept:
        out.extend(zip(seg.idx, seg.lines, strict=True) if seg.kind == "text" else _context(seg))
    body = "\n".join(line for _, line in out).strip("\n").rstrip()
    if not body.strip():
        return Stripped(text=text.strip("\r\n").rstrip(), trimmed="", kept_whole=True)
    shown = {i for i, _ in out}
    return Stripped(text=body, trimmed=_trimmed(lines, shown), kept_whole=False)


def _trimmed(lines: list[str], shown: set[int | None]) -> str:
    """Join the lines not shown, in order; a blank line after a trimmed line is kept (once)."""
    out: list[str] = []
    after_trimmed = False
    for i, line in enumerate(lines):
        if line.strip():
            after_trimmed = i not in shown
            if after_trimmed:
                out.append(line)
        elif after_trimmed and out and out[-1]:
            out.append("")
    return "\n".join(out).strip("\n")


def _unquote(lines: list[str]) -> str:
    """Remove one level of '>' quoting from each line."""
    out = []
    for line in lines:
        m = QUOTE.match(line)
        rest = line[m.end() :] if m else line
        out.append(rest[1:] if rest.startswith(" ") else rest)
    return "\n".join(out).strip("\n")


def inline_answers(text: str) -> list[tuple[str, str]]:
    """Return (quoted block just above, answer) pairs of a reply written under quoted text.

    A top-posted answer above all quotes comes with an empty quoted block; attribution lines are
    not answers, and the signature of the last answer is dropped.
    """
    _lines, segs = _split(text)
    _drop_signature(segs)
    pairs: list[tuple[str, str]] = []
    for k, seg in enumerate(segs):
        if not _has_text(seg):
            continue
        answer = "\n".join(seg.lines).strip()
        if not answer:
            continue
        before = segs[k - 1] if k and segs[k - 1].kind == "quote" else None
        pairs.append((_unquote(before.lines) if before else "", answer))
    return pairs


def is_reaction(text: str) -> str | None:
    """Return the emoji a one-word reply like "+1", "👍🏻" or "いいね" stands for, else None.

    Skin-tone modifiers are removed so reactions to one post can be counted together.
    """
    return reaction_of(strip_reply(text).text.strip() if text.strip() else "")


def reaction_of(body: str) -> str | None:
    """Like ``is_reaction`` for a text already stripped of quotes (``strip_reply(t).text``)."""
    word = unicodedata.normalize("NFKC", body).strip().rstrip("!.。 ").lower()
    if not word or len(word) > 12:
        return None
    if word in REACTION_WORDS:
        return REACTION_WORDS[word]
    emoji = SKIN_TONES.sub("", body.strip())
    if emoji and all(is_emoji_char(ch) for ch in emoji) and any(ord(c) > 0x2000 for c in emoji):
        return emoji
    return None
