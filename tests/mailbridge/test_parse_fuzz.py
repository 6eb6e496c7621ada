"""Property tests: parse() never raises; strip_reply() never raises nor empties a reply."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbridge.parse import Incoming, parse
from mailbridge.quotes import strip_reply

CORPUS = Path(__file__).resolve().parents[1]
SEEDS = [
    p.read_bytes()
    for p in sorted((CORPUS / "emails" / "ja").glob("*.eml"))
    + sorted((CORPUS / "corpus" / "discourse_2020").glob("*.eml"))[:20]
]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2000))
def test_parse_arbitrary_bytes(raw: bytes) -> None:
    assert isinstance(parse(raw), Incoming)


@st.composite
def mutated_mail(draw: st.DrawFn) -> bytes:
    """A real mail with a few bytes flipped, cut, or spliced with junk."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[pos : pos + draw(st.integers(1, 200))]
        else:
            data[pos:pos] = draw(
                st.sampled_from([b"\x1b$B", b"=?", b"\r\n\r\n", b"--", b"\xff", b">"])
            )
    return bytes(data)


@FUZZ
@given(mutated_mail())
def test_parse_mutated_real_mail(raw: bytes) -> None:
    assert isinstance(parse(raw), Incoming)


LINES = st.sampled_from(
    ["> quoted", "", "-- ", "On Mon, Jan 5, 2026 at 10:00 AM Bob <b@x.com> wrote:", "差出人: 山田",
     "件名: x", "iPhoneから送信", "━━━━━━", "________________", "answer", "```", "-item"]
)  # fmt: skip


@FUZZ
@given(
    st.one_of(
        st.text(max_size=500), st.lists(st.one_of(LINES, st.text(max_size=30))).map("\n".join)
    )
)
def test_strip_reply_never_empties(text: str) -> None:
    result = strip_reply(text)
    if text:
        assert result.text
