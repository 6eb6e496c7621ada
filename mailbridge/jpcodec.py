"""Robust decoding of Japanese (and other) mail bytes and RFC 2047 headers: never raises."""

from __future__ import annotations

import base64
import binascii
import codecs
import re

__all__ = ["decode_bytes", "decode_header", "decode_iso2022jp", "iso2022jp_ms_to_cp932"]

# ISO-2022-JP designations (RFC 1468) and the CP5022x extensions: ESC ( I for half-width kana.
_ESC_ASCII = (b"\x1b(B", b"\x1b(J")
_ESC_KANJI = (b"\x1b$B", b"\x1b$@")
_ESC_KANA = b"\x1b(I"
_ESC_SNIFF = re.compile(rb"\x1b(?:\$[@B]|\(I|\$\(D|\(J)")

# Labels mapped to the superset Python should decode with. Shift_JIS mail is written by Windows
# (CP932: ①, ㈱, ～), and GB2312/KS C 5601 labels hide their Microsoft supersets likewise.
_ALIASES = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "s-jis": "cp932",
    "ms_kanji": "cp932",
    "csshiftjis": "cp932",
    "windows-31j": "cp932",
    "ms932": "cp932",
    "cp932": "cp932",
    "x-euc-jp": "euc_jp",
    "euc-jp": "euc_jp",
    "eucjp": "euc_jp",
    "cseucpkdfmtjapanese": "euc_jp",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    "unknown-8bit": "",
    "x-unknown": "",
    "unknown": "",
    "default": "",
    "utf8": "utf-8",
}
_JIS_LABELS = frozenset(
    {
        "iso-2022-jp",
        "iso2022jp",
        "iso2022_jp",
        "csiso2022jp",
        "iso-2022-jp-ms",
        "iso-2022-jp-1",
        "iso-2022-jp-2",
        "iso-2022-jp-3",
        "cp50220",
        "cp50221",
        "cp50222",
        "jis",
    }
)
# Candidates when a label is missing or lies, best guesses first for a Japanese company.
_SNIFF_ORDER = ("utf-8", "cp932", "euc_jp")


def _jis_to_sjis(j1: int, j2: int) -> bytes:
    """Map one JIS X 0208 row/cell pair (incl. NEC rows) to its CP932 bytes."""
    if j1 & 1:
        s2 = j2 + 0x1F + (1 if j2 >= 0x60 else 0)
    else:
        s2 = j2 + 0x7E
    s1 = ((j1 + 1) >> 1) + (0x70 if j1 <= 0x5E else 0xB0)
    return bytes((s1, s2))


def iso2022jp_ms_to_cp932(data: bytes) -> bytes:
    """Translate ISO-2022-JP-MS (CP50220/50221/50222) bytes to CP932 bytes.

    :raises ValueError: on an escape, pair or byte that ISO-2022-JP-MS cannot hold.
    """
    out = bytearray()
    mode = "ascii"
    shifted = False
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == 0x1B:
            seq = data[i : i + 3]
            if seq in _ESC_ASCII:
                mode = "ascii"
            elif seq in _ESC_KANJI:
                mode = "kanji"
            elif seq == _ESC_KANA:
                mode = "kana"
            else:
                raise ValueError(f"unsupported escape {data[i : i + 4]!r} at {i}")
            i += 3
        elif b in (0x0E, 0x0F):  # SO/SI select half-width kana in CP50222.
            shifted = b == 0x0E
            i += 1
        elif b in (0x0A, 0x0D):
            out.append(b)
            i += 1
        elif shifted or mode == "kana":
            out.append(b + 0x80 if 0x21 <= b <= 0x5F else b)
            i += 1
        elif mode == "kanji":
            if i + 1 >= n or not (0x21 <= b <= 0x7E and 0x21 <= data[i + 1] <= 0x7E):
                raise ValueError(f"bad JIS pair at {i}")
            out += _jis_to_sjis(b, data[i + 1])
            i += 2
        elif b >= 0x80:
            raise ValueError(f"8-bit byte {b:#x} in 7-bit stream at {i}")
        else:
            out.append(b)
            i += 1
    return bytes(out)


def decode_iso2022jp(data: bytes) -> str:
    """Decode ISO-2022-JP: strict JIS first, then the Microsoft superset, then lenient JIS."""
    try:
        return data.decode("iso2022_jp")
    except UnicodeDecodeError:
        pass
    try:
        return iso2022jp_ms_to_cp932(data).decode("cp932")
    except (ValueError, UnicodeDecodeError):
        return data.decode("iso2022_jp_2", "replace")


def _codec_for(label: str | None) -> str:
    """Return a Python codec name for a MIME charset label ('' when unknown or missing)."""
    if not label:
        return ""
    name = label.strip().strip("\"'").lower().split("*", 1)[0]
    if name in _JIS_LABELS:
        return "iso-2022-jp"
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        return codecs.lookup(name).name
    except LookupError:
        return ""


def _japanese_score(text: str) -> float:
    """Score how plausible ``text`` is: kana and common CJK count, oddities count against."""
    good = bad = 0
    for ch in text:
        o = ord(ch)
        if 0x3040 <= o <= 0x30FF or 0x4E00 <= o <= 0x9FFF or 0xFF01 <= o <= 0xFF9F:
            good += 1
        elif 0x3000 <= o <= 0x303F or o < 0x80:
            continue
        else:
            bad += 1
    return (good - 2 * bad) / max(1, good + bad)


def _sniff(data: bytes) -> str | None:
    """Guess among UTF-8, CP932 and EUC-JP by strict decoding and plausibility."""
    best: tuple[float, str] | None = None
    for codec in _SNIFF_ORDER:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec == "utf-8":
            return text
        score = _japanese_score(text)
        if best is None or score > best[0]:
            best = (score, text)
    return best[1] if best else None


def decode_bytes(data: bytes, label: str | None) -> str:
    """Decode ``data`` labelled ``label`` into text, repairing missing or lying labels.

    ISO-2022-JP escapes win over any label; valid UTF-8 wins over a legacy label; otherwise the
    label is tried strictly, then UTF-8/CP932/EUC-JP are sniffed, then the label with
    replacement characters. Never raises.
    """
    if not data:
        return ""
    codec = _codec_for(label)
    seven_bit = data.isascii()
    if codec == "iso-2022-jp" or (seven_bit and _ESC_SNIFF.search(data)):
        if seven_bit:
            return decode_iso2022jp(data)
        codec = ""  # An 8-bit "ISO-2022-JP" body is a lie: usually Shift_JIS.
    if seven_bit and codec not in ("utf-7", "utf_7", "utf-16", "utf-32"):
        return data.decode("ascii")
    if codec not in ("utf-7", "utf_7", "utf-16", "utf-32"):
        # Valid non-ASCII UTF-8 is almost never an accident, whatever the label claims.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if codec:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
    sniffed = _sniff(data)
    if sniffed is not None:
        return sniffed
    try:
        return data.decode(codec or "utf-8", "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


# RFC 2047 encoded-word; the charset may carry an RFC 2231 language ("ISO-2022-JP*ja").
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n[ \t]")
_GAP = re.compile(r"[ \t\r\n]*")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def _word_bytes(encoding: str, payload: str) -> bytes:
    """Decode one encoded-word payload to bytes, tolerating bad padding and stray characters."""
    if encoding in "bB":
        clean = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        clean = clean[: len(clean) - len(clean) % 4 if len(clean) % 4 == 1 else len(clean)]
        try:
            return base64.b64decode(clean + "=" * (-len(clean) % 4))
        except (binascii.Error, ValueError):
            return b""
    raw = payload.replace("_", " ").encode("utf-8", "surrogateescape")
    return _QP_ESCAPE.sub(lambda m: bytes((int(m.group(1), 16),)), raw)


def _plain(text: str) -> str:
    """Decode non-encoded header text: raw 8-bit bytes (surrogate-escaped) or raw JIS escapes."""
    if not any(0xDC80 <= ord(c) <= 0xDCFF or c == "\x1b" for c in text):
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text
    return decode_bytes(raw, None)


def decode_header(value: str) -> str:
    """Decode an RFC 2047 header value, joining words split across encoded-words.

    Adjacent encoded-words in the same charset are concatenated as bytes before decoding, so a
    multi-byte character (or an ISO-2022-JP shift state) split across two words survives.
    """
    if not value:
        return ""
    value = _FOLD.sub(" ", value).replace("\r", "").replace("\n", "")
    parts: list[str] = []
    pos = 0
    pending: tuple[str, bytearray] | None = None

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            parts.append(decode_bytes(bytes(pending[1]), pending[0] or "utf-8"))
            pending = None

    for m in _ENCODED_WORD.finditer(value):
        between = value[pos : m.start()]
        if pending is None or _GAP.fullmatch(between) is None:
            flush()
            parts.append(_plain(between))
        charset = m.group(1).split("*", 1)[0].lower()
        data = _word_bytes(m.group(2), m.group(3))
        if pending is not None and pending[0] == charset:
            pending[1].extend(data)
        else:
            flush()
            pending = (charset, bytearray(data))
        pos = m.end()
    flush()
    parts.append(_plain(value[pos:]))
    return "".join(parts)
