"""The slow bounce detectors (flufl.bounce) run only on mail that may be a bounce.

Every mail of the corpora that flufl.bounce reads as a failure report is still a bounce; an
ordinary reply never reaches the detectors (which once took a person's reply for a bounce).
"""

from __future__ import annotations

import email
from email.policy import compat32
from pathlib import Path

import pytest
from flufl.bounce import all_failures

from mailbridge import parse as parse_module
from mailbridge.parse import parse

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
BOUNCES = sorted(p for p in (CORPUS / "flufl_bounce").rglob("*") if p.is_file()) + sorted(
    p for p in (CORPUS / "discourse_2020").glob("*bounce*.eml")
)
REPLY = b"""From: Buchou <buchou@corp.example>
To: reply+abc@hub.test
Subject: Re: =?UTF-8?B?5p2l5pyf44Gu5LqI566X?=
Message-ID: <r1@corp.example>
Content-Type: text/plain; charset=utf-8

ok
"""


def _flufl_finds(raw: bytes) -> bool:
    try:
        temporary, permanent = all_failures(email.message_from_bytes(raw, policy=compat32))
    except Exception:  # noqa: BLE001 - a detector that raises finds nothing
        return False
    return bool(temporary or permanent)


@pytest.mark.parametrize("path", BOUNCES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_report_flufl_reads_is_still_a_bounce(path: Path) -> None:
    raw = path.read_bytes()
    if _flufl_finds(raw):
        assert parse(raw).bounce is not None


def test_bounce_corpus_is_there() -> None:
    assert len(BOUNCES) > 100


@pytest.fixture
def detector_calls(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []

    def spy(msg: object) -> tuple[frozenset[bytes], frozenset[bytes]]:
        calls.append(msg)
        return frozenset(), frozenset()

    monkeypatch.setattr(parse_module, "all_failures", spy)
    return calls


def test_an_ordinary_reply_skips_the_detectors(detector_calls: list[object]) -> None:
    assert parse(REPLY, ["reply+abc@hub.test"]).bounce is None
    assert detector_calls == []


@pytest.mark.parametrize(
    ("raw", "rcpts"),
    [
        pytest.param(
            REPLY.replace(b"buchou@corp.example", b"MAILER-DAEMON@mx.example"),
            (),
            id="daemon-sender",
        ),  # fmt: skip
        pytest.param(REPLY.replace(b"From: Buchou <buchou@corp.example>\n", b""), (), id="no-from"),
        pytest.param(REPLY, ("bounce+tok@hub.test",), id="verp-rcpt"),
        pytest.param(REPLY.replace(b"reply+abc", b"bounce+abc"), (), id="verp-to"),
        pytest.param(
            REPLY.replace(
                b"Subject: Re: =?UTF-8?B?5p2l5pyf44Gu5LqI566X?=", "Subject: 配信エラー".encode()
            ),
            (),
            id="ja-subject",
        ),  # fmt: skip
        pytest.param(
            REPLY.replace(b"Re: =?UTF-8?B?5p2l5pyf44Gu5LqI566X?=", b"Delivery Failure"),
            (),
            id="en-subject",
        ),  # fmt: skip
        pytest.param(
            REPLY.replace(b"text/plain; charset=utf-8", b"multipart/report; b=x"),
            (),
            id="multipart-report",
        ),  # fmt: skip
    ],
)
def test_likely_bounces_reach_the_detectors(
    raw: bytes, rcpts: tuple[str, ...], detector_calls: list[object]
) -> None:
    parse(raw, rcpts)
    assert len(detector_calls) == 1


def test_a_reply_quoting_addresses_is_not_a_bounce() -> None:
    """talon's comcast.eml: a person's "Re: Test" that flufl.bounce alone took for a bounce."""
    raw = (CORPUS / "talon/tests/fixtures/standard_replies/comcast.eml").read_bytes()
    assert parse(raw).bounce is None
