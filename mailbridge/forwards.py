"""Forwarded mail: the message passed on is the content, kept as a quote under the member's words.

A reply's quote is history (``quotes.strip_reply`` trims it); a forward's is why it was sent: 山本
forwards a customer's questions to sales@ with "対応をお願いします". So when a mail forwards,
the forwarded message stays in the post as a Markdown blockquote, its From/Date/Subject lines
kept as a short attribution; the separator and the other header lines (To, Cc) go to
``trimmed``. Only the member's own words above it are trimmed as a reply's are (signature,
"iPhoneから送信").

Read from an HTML-only mail (``htmltext.html_to_text``), the header block comes as Markdown:
bold labels (Outlook's ``<b>差出人:</b>``, the iPhone's bold subject), Gmail's address as a
``mailto:`` link, fields a blank line apart (Word's line breaks beside each ``<br>``, or a
paragraph a field) or all on one line; the attribution is written as plain text all the same.

A mail forwards when its subject says so (FW:, Fwd:, 転送:, ... as the first prefix) and it
carries a forwarded message (a separator such as Outlook's ``-----Original Message-----`` or a
From/Date/Subject header block), or when a line only a forward writes is in it (Gmail's
``---------- Forwarded message ---------`` / 「---------- 転送メッセージ ----------」, Apple
Mail's "Begin forwarded message:" / 「転送されたメッセージ:」, Thunderbird's ``--------
Forwarded Message --------``) and its subject does not say it replies (Re: FW: ... is a reply,
whose history may hold a forward). A forward quoting the message as a reply would ("On ...
wrote:" and "> " lines, no separator or headers) is left to the reply stripper.
"""

from __future__ import annotations

import re

from mailbridge.quote_patterns import HDR_INLINE, PROBE, QUOTE, SEPARATOR
from mailbridge.quotes import Stripped, strip_reply

__all__ = ["forwarded"]

_COUNT = r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]"
FORWARD_SUBJECT = re.compile(rf"\s*(?:fwd?|fw|tr|wg|rv|enc|vl|doorst|転送|转发|轉寄){_COUNT}", re.I)
REPLY_SUBJECT = re.compile(
    rf"\s*(?:re|aw|sv|vs|antw|rif|返信|回复|答复|回覆){_COUNT}|\s*re\^\d+", re.I
)
# Lines only a forward writes (possibly quoted, as Apple Mail quotes the whole forward).
FORWARD_LINE = re.compile(
    r"[ \t>]*(?:-{2,}[ \t]*(?:Forwarded message|転送メッセージ|転送されたメッセージ"
    r"|Message transféré|Weitergeleitete Nachricht|Mensaje reenviado|Mensagem encaminhada"
    r"|Messaggio inoltrato|Doorgestuurd bericht|转发邮件)[ \t]*-*"
    r"|-{3,}[ \t]*Forwarded message from .{1,200}?-{3,}"
    r"|Begin forwarded message[:：]|転送されたメッセージ[:：]|Début du message réexpédié ?[:：]"
    r"|Anfang der weitergeleiteten Nachricht[:：])[ \t]*",
    re.I,
)
_FROM = r"From|Von|De|Da|Van|Fra|Från|Od|От|差出人|送信者|送信元|发件人|寄件者"
_DATE = (
    r"Date|Sent|Gesendet|Datum|Envoyé|Enviado|Enviada em|Fecha|Data|Verzonden|Sendt|Skickat"
    r"|送信日時|送信日|日時|日付|发送时间|日期|寄件日期"
)
_SUBJECT = r"Subject|Betreff|Objet|Asunto|Assunto|Oggetto|Onderwerp|Emne|Ämne|件名|主题|主旨"
_OTHER = (
    r"To|Cc|Bcc|Reply-To|An|Kopie|À|Para|A|Aan|Til|Till|Kopia|宛先|收件人|抄送|Importance"
    r"|重要度|Priority"
)
# One header line of a forwarded message: "差出人: 鈴木 <s@x>", Thunderbird's "Subject: \t件",
# from HTML "**差出人:** 鈴木" (the label's bold closes after its colon).
HEADER = re.compile(
    rf"(?P<label>[ \t*]*(?:(?P<kept>{_FROM}|{_DATE}|{_SUBJECT})|{_OTHER})[ \t*]*[:：](?:\*\*)?)"
    r"[ \t]*(?P<value>.*)",
    re.I,
)
FROM_HEADER = re.compile(rf"[ \t*]*(?:{_FROM})[ \t*]*[:：]", re.I)
# A header block: its From line and this many header lines more, at least.
_MIN_MORE = 2
# How far below its first line a header block may reach (fields a blank line apart, wraps).
_BLOCK_LINES = 16
# Markdown that HTML leaves in a header value: **bold**, and Gmail's <[a@b](mailto:a@b)>.
_BOLD = re.compile(r"\*\*([^*\n]{1,300})\*\*")
_MAILTO = re.compile(r"\[([^\]\n]{1,300})\]\(mailto:[^)\s]{1,300}\)")


def forwarded(text: str, subject: str) -> Stripped | None:
    """Return the post of a forward: the member's own words (trimmed as a reply's), then the
    forwarded message as a blockquote under its From/Date/Subject lines; None if the mail
    does not forward (see the module's docstring)."""
    by_subject = FORWARD_SUBJECT.match(subject) is not None
    if not by_subject and REPLY_SUBJECT.match(subject):
        return None
    lines = _one_field_a_line(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    start = _start(lines, by_subject=by_subject)
    if start is None:
        return None
    trimmed: list[str] = []
    rest = _unquoted(lines[start:])
    if not _header_block(rest, 0):
        trimmed.append(lines[start].strip())  # the separator line
        rest = _unquoted(rest[1:])
    begin = _first_text(rest, 0)
    end = _header_block(rest, begin, after_separator=bool(trimmed))
    attribution: list[str] = []
    kept = False  # whether the last header line went to the attribution
    for line in rest[begin:end]:
        if not line.strip():
            continue  # fields a blank line apart (read from HTML)
        m = HEADER.match(_bare(line)[:PROBE])
        if m is None and kept:
            attribution[-1] += " " + _plain(line)  # a wrapped value
            continue
        kept = m is not None and bool(m.group("kept"))
        if m is not None and kept:
            attribution.append(_field(m))
        else:
            trimmed.append(line.strip())
    body = rest[_first_text(rest, end or begin) :]
    while body and not body[-1].strip():
        body.pop()
    if not attribution and not body:
        return None
    quote = [*attribution, *([""] if attribution and body else []), *body]
    parts = ["\n".join(f"> {line.rstrip()}" if line.strip() else ">" for line in quote)]
    own = "\n".join(lines[:start])
    if own.strip():
        intro = strip_reply(own)
        parts.insert(0, intro.text.strip())
        trimmed[:0] = [intro.trimmed] if intro.trimmed else []
    return Stripped(text="\n\n".join(parts), trimmed="\n".join(trimmed), kept_whole=False)


def _start(lines: list[str], *, by_subject: bool) -> int | None:
    """The index of the line where the forwarded message begins, if any."""
    for i, line in enumerate(lines):
        probe = line[:PROBE]
        if not probe.strip():
            continue
        if FORWARD_LINE.fullmatch(probe):
            return i
        if by_subject and (SEPARATOR.fullmatch(_bare(probe)) or _header_block(lines, i)):
            return i
    return None


def _header_block(lines: list[str], i: int, *, after_separator: bool = False) -> int:
    """The index just past a header block starting at ``i``, else 0: three header lines at
    least, quoted or not, a wrapped value continuing on the next line, one blank line between
    two fields allowed (read from HTML); the first is a From line unless a separator stands
    above (Thunderbird and mutt begin with Subject or Date)."""
    first = FROM_HEADER if not after_separator else HEADER
    if i >= len(lines) or not first.match(_bare(lines[i])[:PROBE]):
        return 0
    headers, end, j = 1, i + 1, i + 1
    while j < len(lines) and j < i + _BLOCK_LINES:
        if not _bare(lines[j]).strip():
            if j + 1 >= len(lines) or not HEADER.match(_bare(lines[j + 1])[:PROBE]):
                break  # the blank line after the headers
        elif HEADER.match(_bare(lines[j])[:PROBE]):
            headers, end = headers + 1, j + 1
        elif j + 1 >= len(lines) or not HEADER.match(_bare(lines[j + 1])[:PROBE]):
            break  # not a wrapped value: the body begins (no blank line after the headers)
        j += 1
    return end if headers > _MIN_MORE else 0


def _one_field_a_line(lines: list[str]) -> list[str]:
    """The lines with a header block written on one line ("**差出人:** a **送信日時:** b
    **宛先:** c", Outlook's header read from HTML with no breaks kept) one field a line."""
    out: list[str] = []
    for line in lines:
        bare = _bare(line)
        probe = bare[:PROBE]
        cuts = [m.start() for m in HDR_INLINE.finditer(probe)] if FROM_HEADER.match(probe) else []
        if len(cuts) < _MIN_MORE:
            out.append(line)
            continue
        prefix = line[: len(line) - len(bare)]
        bounds = [0, *cuts, len(bare)]
        out.extend(prefix + bare[a:b].strip() for a, b in zip(bounds, bounds[1:], strict=False))
    return out


def _field(m: re.Match[str]) -> str:
    """A header line as plain text: "差出人: 鈴木 <s@x>" also when read from HTML."""
    return f"{m.group('label').replace('*', '').strip()} {_plain(m.group('value'))}"


def _plain(value: str) -> str:
    """A header value without the Markdown HTML leaves in it (bold, mailto links)."""
    return _BOLD.sub(r"\1", _MAILTO.sub(r"\1", value)).strip()


def _bare(line: str) -> str:
    """The line without one level of "> " quoting."""
    m = QUOTE.match(line)
    if m is None:
        return line
    rest = line[m.end() :]
    return rest[1:] if rest.startswith(" ") else rest


def _unquoted(lines: list[str]) -> list[str]:
    """The lines without one level of "> " when every line with text is quoted (Apple Mail
    quotes the forwarded message); otherwise as they are."""
    if not all(QUOTE.match(line[:PROBE]) for line in lines if line.strip()):
        return lines
    return [_bare(line) for line in lines]


def _first_text(lines: list[str], i: int) -> int:
    """The index of the first line at or after ``i`` with text (``len(lines)`` if none)."""
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i
