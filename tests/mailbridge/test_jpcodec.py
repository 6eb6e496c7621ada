"""Japanese decoding: ISO-2022-JP-MS, missing and lying labels, RFC 2047 headers."""

from __future__ import annotations

import base64

import pytest

from mailbridge.jpcodec import decode_bytes, decode_header

MIXED = "予算①～③の件、ｶﾀｶﾅ、髙橋㈱"
# CP50221 bytes of MIXED, as Outlook and Becky! write them (NEC row 13, ESC ( I kana).
MIXED_JIS = b'\x1b$BM=;;-!!A-#$N7o!"\x1b(I6@6E\x1b$B!"|b66-j\x1b(B'


@pytest.mark.parametrize(
    ("data", "label", "expected"),
    [
        pytest.param(MIXED_JIS, "iso-2022-jp", MIXED, id="jis-ms-labelled"),
        pytest.param(MIXED_JIS, None, MIXED, id="jis-no-label"),
        pytest.param(MIXED_JIS, "us-ascii", MIXED, id="jis-labelled-ascii"),
        pytest.param(MIXED_JIS, "CP50221", MIXED, id="jis-cp50221-label"),
        pytest.param(
            "こんにちは".encode("iso2022_jp"), "ISO-2022-JP", "こんにちは", id="plain-jis"
        ),
        pytest.param(MIXED.encode("cp932"), "Shift_JIS", MIXED, id="sjis-with-nec-chars"),
        pytest.param(MIXED.encode("cp932"), "iso-2022-jp", MIXED, id="says-jis-is-sjis"),
        pytest.param(MIXED.encode("cp932"), None, MIXED, id="sjis-no-label"),
        pytest.param(MIXED.encode("cp932"), "utf-8", MIXED, id="says-utf8-is-sjis"),
        pytest.param(
            "議事録を共有します".encode("euc_jp"), "EUC-JP", "議事録を共有します", id="euc"
        ),
        pytest.param(
            "議事録を共有します".encode("euc_jp"), None, "議事録を共有します", id="euc-sniffed"
        ),
        pytest.param("日程確定です".encode(), "us-ascii", "日程確定です", id="says-ascii-is-utf8"),
        pytest.param(
            "您好！ 你今天好吗？".encode(), "big5", "您好！ 你今天好吗？", id="says-big5-is-utf8"
        ),
        pytest.param("äöüß".encode("latin-1"), "iso-8859-1", "äöüß", id="latin1"),
        pytest.param(b"\x93quoted\x94", "iso-8859-1", "\u201cquoted\u201d", id="latin1-is-cp1252"),
        pytest.param(b"hello", "x-no-such-charset", "hello", id="unknown-label"),
        pytest.param(b"", "utf-8", "", id="empty"),
    ],
)
def test_decode_bytes(data: bytes, label: str | None, expected: str) -> None:
    assert decode_bytes(data, label) == expected


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe\x00\x1b$B\x80", b"\x1b$B!", b"\x1b$(D\x22\x2f\x1b(B", bytes(range(256))],
    ids=["garbage", "truncated-jis", "jis-x-0212", "all-bytes"],
)
@pytest.mark.parametrize("label", [None, "iso-2022-jp", "utf-8", "shift_jis", "bogus"])
def test_decode_bytes_never_raises_and_keeps_something(data: bytes, label: str | None) -> None:
    assert decode_bytes(data, label)


def _word(text: str, charset: str = "UTF-8", raw: bytes | None = None) -> str:
    data = raw if raw is not None else text.encode(charset)
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


SPLIT = "【重要】来期の予算".encode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(_word("", "ISO-2022-JP", MIXED_JIS), MIXED, id="jis-word-with-maru-1"),
        pytest.param(
            f"=?UTF-8?B?{base64.b64encode(SPLIT[:8]).decode()}?=\r\n"
            f" =?UTF-8?B?{base64.b64encode(SPLIT[8:]).decode()}?=",
            "【重要】来期の予算",
            id="utf8-char-split-across-words",
        ),
        pytest.param(
            f"Re: {_word('', 'ISO-2022-JP', MIXED_JIS[:16])}"
            f" {_word('', 'ISO-2022-JP', MIXED_JIS[16:])}",
            "Re: " + MIXED,
            id="jis-shift-state-split-across-words",
        ),
        pytest.param("=?utf-8?q?caf=C3=A9_au_lait?=", "café au lait", id="q-encoding"),
        pytest.param(
            "=?ISO-2022-JP*ja?B?GyRCJDMkcyRLJEEkTxsoQg==?=", "こんにちは", id="rfc2231-lang"
        ),
        pytest.param("=?utf-8?B?5LqI566X?", "=?utf-8?B?5LqI566X?", id="unterminated-kept"),
        pytest.param(
            "=?utf-8?B?5LqI566X?= and =?utf-8?B?5LqI566X?=", "予算 and 予算", id="text-between"
        ),
        pytest.param("plain subject", "plain subject", id="plain"),
        pytest.param("=?x-unknown?B?5LqI566X?=", "予算", id="unknown-charset-sniffed"),
    ],
)
def test_decode_header(value: str, expected: str) -> None:
    assert decode_header(value) == expected


def test_decode_header_reads_raw_8bit_and_raw_jis() -> None:
    raw_sjis = "予定".encode("cp932").decode("ascii", "surrogateescape")
    assert decode_header(raw_sjis) == "予定"
    assert decode_header("会議室".encode("iso2022_jp").decode("ascii")) == "会議室"
