"""The public corpora and our Japanese samples driven through ingest.receive.

Expected outcomes follow discourse_2020/EXPECTED.json (Discourse's receiver spec at that commit),
mapped to Hiroba's statuses; the Japanese client samples reuse the parser tests' expected texts.
Every file of every corpus must end with a recorded status: zero crashes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hub.models import InboundMessage, OutboxMessage
from hub.services import accounts
from mailbridge import ingest
from mailbridge.context import STATUSES
from tests.factories import make_channel, make_thread, make_user
from tests.mailbridge.test_ingest import reply_address

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
DISCOURSE = CORPUS / "discourse_2020"
JA = Path(__file__).resolve().parents[1] / "emails" / "ja"
EXPECTED = json.loads((DISCOURSE / "EXPECTED.json").read_text())


def norm(text: str | None) -> str:
    lines = [ln.rstrip() for ln in (text or "").replace("\r\n", "\n").strip().split("\n")]
    return "\n".join(lines)


def retarget_from(raw: bytes, sender: str) -> bytes:
    """Replace the From header (folded lines included), body untouched."""
    head, sep, body = raw.partition(b"\n\n")
    out, skip = [], False
    for line in head.split(b"\n"):
        if skip and line[:1] in (b" ", b"\t"):
            continue
        skip = line.lower().startswith(b"from:")
        if not skip:
            out.append(line)
    return b"From: " + sender.encode() + b"\n" + b"\n".join(out) + sep + body


@pytest.fixture
def world(app: Flask, session: Any) -> dict[str, Any]:
    """Discourse's fixture users as members; one channel and thread to reply to."""
    members = {
        a: make_user(session, email=a, name=a.split("@")[0])
        for a in (
            "discourse@bar.com",
            "existing@bar.com",
            "foo@bar.com",
            "someone_else@bar.com",
            "random.name@bar.ru",
        )
    }
    inactive = make_user(session, email="inactive@bar.com", name="inactive")
    accounts.deactivate(session, inactive)
    general = make_channel(session, slug="general", name="General")
    first = make_thread(session, channel=general, author=members["foo@bar.com"], title="t")
    session.commit()
    return {
        "to": reply_address(app, members["discourse@bar.com"], first.thread_id),
        "to_foo": reply_address(app, members["foo@bar.com"], first.thread_id),
    }


# (file, envelope: reply|channel, expected status, expected reason or None, extra settings)
CASES = [
    ("auto_generated_header.eml", "reply", "ignored", "auto_reply", {}),
    ("auto_generated_precedence.eml", "reply", "ignored", "auto_reply", {}),
    ("bounced_email.eml", "reply", "bounce", "bounce", {}),
    ("bounced_email_multiple_status_codes.eml", "reply", "bounce", "bounce", {}),
    ("hard_bounce_via_verp.eml", "reply", "bounce", "bounce", {}),
    ("hard_bounce_via_verp_2.eml", "reply", "bounce", "bounce", {}),
    ("soft_bounce_via_verp.eml", "reply", "bounce", "bounce", {}),
    ("verp_bounce_different_final_recipient.eml", "reply", "bounce", "bounce", {}),
    ("no_from.eml", "channel", "rejected", "unknown_sender", {}),
    # A MAILER-DAEMON report with no usable From: a bounce, never answered.
    ("invalid_from_2.eml", "channel", "bounce", "bounce", {}),
    ("no_body.eml", "reply_foo", "rejected", "empty_body", {}),
    ("like.eml", "reply", "reacted", None, {}),
    ("reply_user_not_matching.eml", "reply", "rejected", "token_sender_mismatch", {}),
    ("inactive_sender.eml", "channel", "rejected", "inactive_member", {}),
    ("new_user.eml", "channel", "rejected", "unknown_sender", {"FROM": "stranger@bar.com"}),
    (
        "dmarc_fail.eml",
        "channel",
        "held",
        "auth_failed",
        {"SENDER_AUTH": "enforce", "TRUSTED_AUTHSERV_ID": "example.com"},
    ),
    ("encoded_display_name.eml", "channel", "posted", None, {}),
]


@pytest.mark.parametrize(("name", "via", "status", "reason", "settings"), CASES)
def test_discourse_outcomes(
    app: Flask,
    session: Any,
    world: Any,
    name: str,
    via: str,
    status: str,
    reason: str | None,
    settings: dict[str, str],
) -> None:
    settings = dict(settings)
    sender = settings.pop("FROM", None)
    app.config.update(settings)
    to = {"reply": world["to"], "reply_foo": world["to_foo"]}.get(via, "general@hub.test")
    raw = (DISCOURSE / name).read_bytes()
    if sender:
        raw = retarget_from(raw, sender)
    out = ingest.receive(app, raw, [to], "imap")
    assert (out.status, out.reason) == (status, reason), out
    if status in ("bounce", "ignored") or reason in ("unknown_sender", "token_sender_mismatch"):
        assert session.scalar(select(OutboxMessage.id)) is None  # no backscatter, no loops


def test_mail_from_our_own_reply_address_is_a_loop(app: Flask, world: Any) -> None:
    raw = (DISCOURSE / "from_reply_by_email_address.eml").read_bytes()
    raw = raw.replace(b"reply@bar.com", b"reply@hub.test")
    out = ingest.receive(app, raw, [world["to"]], "imap")
    assert (out.status, out.reason) == ("ignored", "loop")


REPLY_TEXTS = sorted(
    (name, spec["raw"])
    for name, spec in EXPECTED.items()
    if spec.get("outcome") == "reply" and "raw" in spec and "note" not in spec
)


@pytest.mark.parametrize(("name", "text"), REPLY_TEXTS)
def test_discourse_reply_texts(app: Flask, world: Any, name: str, text: str) -> None:
    raw = retarget_from((DISCOURSE / name).read_bytes(), "discourse@bar.com")
    out = ingest.receive(app, raw, [world["to"]], "smtp")
    assert out.status == "replied", out
    assert norm(out.text) == norm(text)
    again = ingest.receive(app, raw, [world["to"]], "smtp")
    assert again.status == "duplicate" and again.post_id == out.post_id


def _ja_cases() -> list[Any]:
    from tests.mailbridge import test_parse

    mark = next(
        m for m in test_parse.test_japanese_client_mail.pytestmark if m.name == "parametrize"
    )
    return [pytest.param(c[0], c[3], id=c[0]) for c in mark.args[1]]


@pytest.mark.parametrize(("name", "new_text"), _ja_cases())
def test_japanese_clients_through_pipeline(
    app: Flask, world: Any, name: str, new_text: str
) -> None:
    raw = retarget_from((JA / name).read_bytes(), "discourse@bar.com")
    out = ingest.receive(app, raw, [world["to"]], "smtp")
    assert out.status == "replied", out
    assert norm(out.text) == norm(new_text)


ALL_FILES = sorted(
    p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".eml", ".txt", "") and
    p.name not in ("MANIFEST.txt", "EXPECTED.json")
)  # fmt: skip


def test_zero_crashes_over_every_corpus(app: Flask, session: Any, world: Any) -> None:
    """Every file of every corpus, as mail to a channel and as a reply: a recorded status."""
    crashed = []
    targets = ["general@hub.test", world["to"]]
    for n, path in enumerate(ALL_FILES):
        raw = path.read_bytes()
        out = ingest.receive(app, raw, [targets[n % 2]], "cli")
        if out.status not in STATUSES or out.status == "failed":
            crashed.append((path.relative_to(CORPUS), out.status, out.reason))
    assert crashed == []
    left = session.scalar(select(InboundMessage.id).where(InboundMessage.status == "received"))
    assert left is None
    assert len(ALL_FILES) > 400


def test_corpus_has_no_stray_files() -> None:
    manifest = (CORPUS / "MANIFEST.txt").read_text()
    listed = set(re.findall(r"^([^#\s][^\t]*)\t", manifest, re.M))
    missing = [
        str(p.relative_to(CORPUS)) for p in ALL_FILES if str(p.relative_to(CORPUS)) not in listed
    ]
    assert len(missing) < len(ALL_FILES) // 2


_header_values = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
    st.sampled_from(
        [
            "=?ISO-2022-JP?B?GyRCJCIbKEI=?=",
            "=?utf-8?q?=E3=81=82",
            "<a@b>",
            "",
            "auto-replied",
            "bulk",
        ]
    ),
)
_bodies = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"+1", b"> quoted\n", b'\x1b$B$"\x1b(B', "了解".encode("shift_jis")]),
)
_names = st.sampled_from(
    ["From", "To", "Subject", "Message-ID", "Content-Type", "Content-Transfer-Encoding",
     "Auto-Submitted", "Precedence", "In-Reply-To", "References", "X-Hiroba-Loop", "MIME-Version"]
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    headers=st.lists(st.tuples(_names, _header_values), max_size=10),
    body=_bodies,
    sender=st.sampled_from(["discourse@bar.com", "x@evil.example", "", "Foo <foo@bar.com>"]),
    to_reply=st.booleans(),
)
def test_fuzz_every_message_ends_recorded(
    app: Flask, world: Any, headers: list[tuple[str, str]], body: bytes, sender: str, to_reply: bool
) -> None:
    """Random messages never crash the pipeline; each one ends with a recorded final status."""
    lines = [f"From: {sender}"] + [
        f"{k}: {v}".replace("\n", " ").replace("\r", " ") for k, v in headers
    ]
    raw = "\r\n".join(lines).encode("utf-8", "surrogateescape") + b"\r\n\r\n" + body
    out = ingest.receive(app, raw, [world["to"] if to_reply else "general@hub.test"], "smtp")
    assert out.status in STATUSES and out.status != "failed", out
    with app.extensions["hiroba.sessionmaker"]() as s:
        row = s.scalar(
            select(InboundMessage).where(InboundMessage.message_key == ingest.message_key(raw))
        )
        assert row is not None and row.status != "received"
