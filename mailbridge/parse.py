"""parse(raw) -> Incoming: sender, recipients, subject, text, ids, auto-reply and bounce flags."""

from __future__ import annotations

import dataclasses
import email
import email.utils
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.policy import compat32
from typing import Any

from flufl.bounce import all_failures

from mailbridge import inline_images
from mailbridge.absence import is_absence_notice
from mailbridge.htmltext import html_to_text
from mailbridge.jpcodec import decode_bytes, decode_header

__all__ = ["Attachment", "Bounce", "Incoming", "parse", "strip_subject_prefixes"]

log = logging.getLogger(__name__)

_KEPT_HEADERS = (
    "list-id", "x-loop", "x-hiroba-loop", "auto-submitted", "precedence", "authentication-results"
)  # fmt: skip
# Headers kept with every value (one per line), not only the first.
_ALL_VALUES = ("authentication-results", "x-hiroba-loop")
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|antw|tr|rif|返信|転送|回复|转发)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]"
    r"|re\^\d+\s*[:：])\s*",
    re.I,
)
# Japanese groupware and hand-made out-of-office rules bracket the word: "【不在】出張中です",
# "[自動返信] ...", "［不在通知］".
_AUTO_SUBJECT = re.compile(
    r"^\s*[\[【［(（〔<＜]?\s*"
    r"(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response)|auto\s*:"
    r"|自動返信|自動応答|不在(?:通知|連絡|のお知らせ)?\s*(?:[:：\s\]】］)）〕>＞]|$))",
    re.I,
)
_AUTO_SENDERS = frozenset(
    {"mailer-daemon", "postmaster", "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply"}
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status notification|failure|has failed)|returned mail"
    r"|mail delivery failed|failure notice|could "
    r"not be delivered|配信不能|配送エラー|送信エラー|未達",
    re.I,
)
# Cheap signs that a message may be a delivery report, checked before the (slow) flufl.bounce
# detectors run: they read every body line with a few hundred patterns (~10 ms a message).
_MAYBE_BOUNCE_SUBJECT = re.compile(
    r"deliver|returned|failure|failed|undeliver|non-?deliver|bounce|rejected|could not|unable to"
    r"|not (?:be )?(?:sent|delivered)|warning|mail system|error|notif|status|unknown|問題|不能"
    r"|エラー|未達|配信|配送|送信でき|届きません|返送|失敗",
    re.I,
)
_DAEMONISH = re.compile(r"daemon|postmaster|mailer|bounce|mdaemon|mail ?delivery|smtp|^root@", re.I)
_MSGID = re.compile(r"<([^<>\s]+)>")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file carried by a message; an inline image knows where the mail shows it (``place``:
    the words before and after it, see ``inline_images``)."""

    filename: str
    content_type: str
    data: bytes
    content_id: str | None
    inline: bool
    place: inline_images.Place | None = None


@dataclass(frozen=True, slots=True)
class Bounce:
    """Addresses a delivery report says failed, permanently or for now."""

    permanent: frozenset[str]
    temporary: frozenset[str]


@dataclass(frozen=True, slots=True)
class Incoming:
    """Everything the inbound pipeline needs to know about one raw message."""

    message_id: str | None = None
    sender: str = ""
    sender_name: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    subject: str = ""
    clean_subject: str = ""
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    date: datetime | None = None
    text: str = ""
    html: str | None = None
    auto_reply: str | None = None
    bounce: Bounce | None = None
    headers: dict[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[str, ...] = ()


def strip_subject_prefixes(s: str) -> str:
    """Remove reply/forward prefixes (Re:, AW:, 返信：, Fwd:, Re[2]: ...) repeatedly."""
    prev = None
    while prev != s:
        prev, s = s, _SUBJECT_PREFIX.sub("", s, count=1)
    return s.strip()


def _raw(msg: Message, name: str) -> list[str]:
    """Return every raw value of header ``name`` (compat32 keeps 8-bit bytes as surrogates)."""
    return [str(v) for k, v in msg.raw_items() if k.lower() == name]


def _header(msg: Message, name: str) -> str:
    values = _raw(msg, name)
    return _CONTROL.sub("", decode_header(values[0])).strip() if values else ""


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    """Parse address headers leniently: semicolons, encoded names, junk all tolerated."""
    fixed = [v.replace(";", ",") for v in values]
    pairs = []
    for name, addr in email.utils.getaddresses(fixed):
        # Repair what careless clients write: "<a@b.com.>" and stray brackets.
        addr = _CONTROL.sub("", decode_header(addr)).strip().strip("<>").rstrip(".").lower()
        if "@" in addr:
            pairs.append((_CONTROL.sub("", decode_header(name)).strip(), addr))
    return pairs


def _ids(value: str) -> tuple[str, ...]:
    found = _MSGID.findall(value)
    return tuple(found) if found else tuple(t for t in value.split() if "@" in t)


def _date(msg: Message) -> datetime | None:
    value = _header(msg, "date")
    if not value:
        return None
    when = email.utils.parsedate_to_datetime(value)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _charset(part: Message) -> str | None:
    value = part.get_param("charset")
    if isinstance(value, tuple):
        value = email.utils.collapse_rfc2231_value(value)
    return str(value) if value else None


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _filename(part: Message) -> str:
    """Decode a part's file name: RFC 2231 (any charset), RFC 2047 or raw 8-bit."""
    for name, header in (("filename", "content-disposition"), ("name", "content-type")):
        value = part.get_param(name, header=header)
        if isinstance(value, tuple):
            charset, _lang, text = value
            return decode_bytes(str(text).encode("latin-1", "replace"), charset or None)
        if value:
            return decode_header(email.utils.unquote(str(value)))
    return ""


def _attachment(part: Message) -> Attachment:
    ctype = part.get_content_type()
    if ctype == "message/rfc822" and part.is_multipart():
        inner = part.get_payload(0)
        data = inner.as_bytes(policy=compat32) if isinstance(inner, Message) else b""
    else:
        data = _payload(part)
    cid = part.get("content-id")
    disposition = (part.get_content_disposition() or "").lower()
    return Attachment(
        filename=_filename(part),
        content_type=ctype,
        data=data,
        content_id=str(cid).strip().strip("<>") if cid else None,
        inline=disposition == "inline" or (not disposition and cid is not None),
    )


def _walk(msg: Message, out: dict[str, list[Any]], defects: list[str]) -> None:
    """Collect text/plain, text/html and attachments without descending into attached mail."""
    for part in msg.get_payload() if msg.is_multipart() else [msg]:
        if not isinstance(part, Message):
            continue
        defects.extend(type(d).__name__ for d in part.defects)
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        if part.is_multipart() and not ctype.startswith("message/"):
            _walk(part, out, defects)
        elif ctype in ("text/plain", "text/html") and disposition != "attachment":
            text = decode_bytes(_payload(part), _charset(part))
            out[ctype].append(text)
        elif ctype != "message/delivery-status":
            out["attachments"].append(_attachment(part))
            out["parts"].append(part)


def _text_of(part: Message) -> str:
    """A text part as the intake reads it (HTML as Markdown-ish text)."""
    text = decode_bytes(_payload(part), _charset(part))
    return html_to_text(text) if part.get_content_type() == "text/html" else text


def _placed(
    msg: Message, attachments: list[Attachment], parts: list[Message], text: str
) -> tuple[Attachment, ...]:
    """The attachments, each inline image with where the mail shows it, unless the text names
    it already (HTML read as text, Outlook's "[cid:...]" in its text part)."""
    unplaced = [
        a.inline
        and a.content_type.startswith("image/")
        and not (a.content_id and f"cid:{a.content_id}" in text)
        for a in attachments
    ]
    if not any(unplaced):
        return tuple(attachments)
    found = inline_images.places(msg, _text_of)
    return tuple(
        dataclasses.replace(a, place=found.get(part) or found.get(a.content_id or ""))
        if to_place
        else a
        for a, part, to_place in zip(attachments, parts, unplaced, strict=True)
    )


def _auto_reply(msg: Message, sender: str, subject: str, text: str = "") -> str | None:
    """Return why ``msg`` looks machine-generated (RFC 3834 and vendor habits, or a body that
    is an out-of-office notice: ``absence``), else None."""
    auto = _header(msg, "auto-submitted").split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"auto-submitted: {auto}"
    precedence = _header(msg, "precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"precedence: {precedence}"
    for name in ("x-autoreply", "x-autorespond", "x-autogenerated"):
        if _raw(msg, name):
            return name
    if sender.split("@")[0] in _AUTO_SENDERS:
        return f"sender: {sender}"
    if _AUTO_SUBJECT.search(subject):
        return f"subject: {subject[:60]}"
    # "Re: <title>" and no header, from a hand-made out-of-office rule: only the text says so.
    if is_absence_notice(text):
        return "body: out-of-office notice"
    return None


def _delivery_status(msg: Message) -> tuple[set[str], set[str]] | None:
    """Read message/delivery-status blocks (RFC 3464): (permanent, temporary) or None."""
    permanent: set[str] = set()
    temporary: set[str] = set()
    found = False
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        found = True
        for block in part.get_payload() if part.is_multipart() else []:
            if not isinstance(block, Message):
                continue
            rcpt = str(block.get("final-recipient") or block.get("original-recipient") or "")
            addr = rcpt.split(";", 1)[-1].strip().strip("<>").lower()
            action = str(block.get("action") or "").strip().lower()
            status = str(block.get("status") or "").strip()
            if not addr or "@" not in addr:
                continue
            if action == "failed" or status.startswith("5"):
                permanent.add(addr)
            elif action == "delayed" or status.startswith("4"):
                temporary.add(addr)
    return (permanent, temporary) if found else None


def _maybe_bounce(msg: Message, sender: str, subject: str, rcpts: tuple[str, ...]) -> bool:
    """Tell whether ``msg`` could be a delivery report, so the bounce detectors must look at it.

    Empty, daemon or postmaster senders; a multipart/report; bounce-like subjects (English and
    Japanese); VERP ``bounce+`` recipients; a From display name or exim header saying so.
    """
    if not sender or _DAEMONISH.search(sender) or _MAYBE_BOUNCE_SUBJECT.search(subject):
        return True
    if msg.get_content_type() == "multipart/report" or _raw(msg, "x-failed-recipients"):
        return True
    to = [*rcpts, *_raw(msg, "to"), *_raw(msg, "from"), *_raw(msg, "return-path")]
    return any(_DAEMONISH.search(value) for value in to)


def _bounce(
    msg: Message, sender: str, subject: str, defects: list[str], rcpts: tuple[str, ...] = ()
) -> Bounce | None:
    """Detect a bounce with the DSN parts, flufl.bounce and the MAILER-DAEMON convention."""
    dsn = _delivery_status(msg)
    permanent, temporary = dsn if dsn else (set(), set())
    temp_b: frozenset[bytes] | set[bytes] = frozenset()
    perm_b: frozenset[bytes] | set[bytes] = frozenset()
    if dsn is not None or _maybe_bounce(msg, sender, subject, rcpts):
        try:
            temp_b, perm_b = all_failures(msg)
        except Exception as exc:  # noqa: BLE001 - flufl detectors raise on odd mail
            defects.append(f"bounce detector failed: {type(exc).__name__}")
    permanent |= {a.decode("utf-8", "replace").lower() for a in perm_b}
    temporary |= {a.decode("utf-8", "replace").lower() for a in temp_b} - permanent
    daemon = sender.split("@")[0] in ("mailer-daemon", "postmaster") or not sender
    if dsn is None and not permanent and not temporary:
        if not (daemon and _BOUNCE_SUBJECT.search(subject)):
            return None
    return Bounce(permanent=frozenset(permanent), temporary=frozenset(temporary))


def _kept_headers(msg: Message) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name in _KEPT_HEADERS:
        values = [decode_header(v).strip() for v in _raw(msg, name)]
        if values:
            headers[name] = "\n".join(values) if name in _ALL_VALUES else values[0]
    return headers


def _step(defects: list[str], what: str, fn, default):  # type: ignore[no-untyped-def]
    """Run one extraction step; on error note a defect and use ``default``."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - parse() must never raise
        log.debug("parse step %s failed", what, exc_info=True)
        defects.append(f"{what}: {type(exc).__name__}: {str(exc)[:80]}")
        return default


def parse(raw: bytes, rcpts: tuple[str, ...] | list[str] = ()) -> Incoming:
    """Parse raw message bytes; never raises, noting what could not be read in ``defects``.

    ``rcpts`` are the envelope recipients when known: a VERP ``bounce+`` one marks a bounce.
    """
    defects: list[str] = []
    try:
        msg = email.message_from_bytes(bytes(raw), policy=compat32)
    except Exception as exc:  # noqa: BLE001
        return Incoming(defects=(f"unparsable message: {type(exc).__name__}",), headers={})
    defects.extend(type(d).__name__ for d in msg.defects)
    frm = _step(defects, "from", lambda: _addresses(_raw(msg, "from")), [])
    sender_name, sender = frm[0] if frm else ("", "")
    if not frm:
        defects.append("no usable From address")
    subject = _step(defects, "subject", lambda: _header(msg, "subject"), "")
    parts: dict[str, list[Any]] = {
        "text/plain": [],
        "text/html": [],
        "attachments": [],
        "parts": [],
    }
    _step(defects, "body", lambda: _walk(msg, parts, defects), None)
    # NUL is never text (and PostgreSQL refuses it in text columns): a broken client's NULs go.
    html = "\n".join(parts["text/html"]).replace("\x00", "") or None
    text = "\n".join(t for t in parts["text/plain"] if t.strip()).replace("\x00", "")
    if not text and html:
        text = _step(defects, "html", lambda: html_to_text(html), "")
    files = parts["attachments"]
    files = _step(
        defects, "inline images", lambda: _placed(msg, files, parts["parts"], text), files
    )
    msgid = _step(defects, "message-id", lambda: _ids(_header(msg, "message-id")), ())
    return Incoming(
        message_id=msgid[0] if msgid else None,
        sender=sender,
        sender_name=sender_name,
        to=tuple(a for _, a in _step(defects, "to", lambda: _addresses(_raw(msg, "to")), [])),
        cc=tuple(a for _, a in _step(defects, "cc", lambda: _addresses(_raw(msg, "cc")), [])),
        subject=subject,
        clean_subject=strip_subject_prefixes(subject),
        in_reply_to=_step(defects, "in-reply-to", lambda: _ids(_header(msg, "in-reply-to")), ()),
        references=_step(defects, "references", lambda: _ids(_header(msg, "references")), ()),
        date=_step(defects, "date", lambda: _date(msg), None),
        text=text,
        html=html,
        auto_reply=_step(
            defects, "auto-reply", lambda: _auto_reply(msg, sender, subject, text), None
        ),
        bounce=_step(
            defects, "bounce", lambda: _bounce(msg, sender, subject, defects, tuple(rcpts)), None
        ),
        headers=_step(defects, "headers", lambda: _kept_headers(msg), {}),
        attachments=tuple(files),
        defects=tuple(defects),
    )
