"""Bounces: VERP attribution, hard and soft, counted in days within a window, through the real
SMTP intake (delivery reports) and a real relay that refuses (550, 552, 452)."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import func, select

from hub.db import utcnow
from hub.models import BounceRecord, Event, InboundMessage, OutboxMessage, User
from hub.services import bounces as bounce_service
from mailbridge import bounces, delivery, ingest, outbound
from mailbridge.parse import parse
from tests.conftest import free_port
from tests.factories import make_user

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

DSN = """\
From: MAILER-DAEMON@mx.corp.example (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-{n}@mx.corp.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

The mail system: could not deliver to {rcpt}.

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.corp.example

Final-Recipient: rfc822; {final}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {diagnostic}

--b--
"""


def queued(app: Flask, session: Any, user: User, n: int = 0) -> Any:
    row = outbound.queue_mail(
        app, session, kind="test", dedupe_key=f"t:{user.id}:{n}", to=user, template="help",
        context={"help_address": "help@hub.test", "channels": []},
    )  # fmt: skip
    session.commit()
    return row


def dsn(
    to: str, n: int, final: str, action: str = "failed", status: str = "5.1.1",
    diagnostic: str = "550 5.1.1 <x>: Recipient address rejected: User unknown",
) -> bytes:  # fmt: skip
    text = DSN.format(
        to=to, n=n, rcpt=final, final=final, action=action, status=status, diagnostic=diagnostic
    )
    return text.replace("\n", "\r\n").encode()


def report(intake: Any, rcpt: str, raw: bytes) -> None:
    """Hand a delivery report to the real SMTP intake, as the company's mail server does (null
    envelope sender)."""
    with smtplib.SMTP("127.0.0.1", intake.port) as client:
        client.sendmail("<>", [rcpt], raw)


def days_pass(session: Any, days: int) -> None:
    """Move every recorded bounce (and clearing) ``days`` into the past: time goes by."""
    back = timedelta(days=days)
    for rec in session.scalars(select(BounceRecord)):
        rec.created_at -= back
    for user in session.scalars(select(User).where(User.bounces_cleared_at.is_not(None))):
        user.bounces_cleared_at -= back
    session.commit()


def member(session: Any, user_id: int) -> User:
    """The member as stored now (the read ends at once: SQLite lets one transaction write)."""
    user = session.get(User, user_id)
    session.refresh(user)
    session.commit()
    return user


MAILBOX_FULL = "552 5.2.2 <yamamoto@corp.example>: Mailbox full"


def test_a_week_of_mailbox_full_never_stops_mail(app: Flask, session: Any, intake: Any) -> None:
    """The tester's case: three 5.2.2 reports within a minute, then one a day for a week: the
    member keeps getting mail (a full mailbox is soft), and each report is kept with why."""
    user = make_user(session, email="yamamoto@corp.example", name="山本 誠", email_only=True)
    rows = [queued(app, session, user, n) for n in range(10)]
    for n in range(3):
        raw = dsn(rows[n].mail_from, n, final=user.email, status="5.2.2", diagnostic=MAILBOX_FULL)
        report(intake, rows[n].mail_from, raw)
    yamamoto = member(session, user.id)
    assert (yamamoto.bouncing, yamamoto.bounce_count) == (False, 0)
    for n in range(3, 8):
        days_pass(session, 1)
        raw = dsn(rows[n].mail_from, n, final=user.email, status="5.2.2", diagnostic=MAILBOX_FULL)
        report(intake, rows[n].mail_from, raw)
    yamamoto = member(session, user.id)
    assert (yamamoto.bouncing, yamamoto.bounce_count) == (False, 0)
    kept = list(session.scalars(select(BounceRecord).order_by(BounceRecord.id)))
    assert len(kept) == 8 and not any(r.permanent for r in kept)
    assert {r.status for r in kept} == {"5.2.2"} and "Mailbox full" in kept[-1].diagnostic
    assert {r.outbox_id for r in kept} == {r.id for r in rows[:8]}
    statuses = session.scalars(select(InboundMessage.status).distinct())
    assert set(statuses) == {"bounce"}
    assert session.scalar(select(Event.id).where(Event.kind == "member_bouncing")) is None
    # Still mailed.
    assert queued(app, session, yamamoto, 99) is not None


def test_soft_bounces_stop_mail_only_after_many_days(app: Flask, session: Any, intake: Any) -> None:
    app.config["BOUNCE_SOFT_DAYS"] = 4
    user = make_user(session, email="full@corp.example", name="満杯")
    for n in range(4):
        row = queued(app, session, user, n)
        if n:
            days_pass(session, 1)
        raw = dsn(row.mail_from, n, final=user.email, status="4.2.2", action="delayed")
        report(intake, row.mail_from, raw)
        assert member(session, user.id).bouncing is (n == 3)
    event = session.scalar(select(Event).where(Event.kind == "member_bouncing"))
    assert event.subject_id == user.id and event.data["hard"] is False
    assert event.data["status"] == "4.2.2" and event.data["any_days"] == 4


def test_hard_bounces_stop_mail_on_the_third_day_not_in_one_hour(
    app: Flask, session: Any, intake: Any
) -> None:
    user = make_user(session, email="gone@corp.example", name="退職者")
    rows = [queued(app, session, user, n) for n in range(5)]
    # A digest, a mention and a reply bouncing together: one bad day, not three.
    for n in range(3):
        report(intake, rows[n].mail_from, dsn(rows[n].mail_from, n, final=user.email))
    gone = member(session, user.id)
    assert (gone.bouncing, gone.bounce_count) == (False, 1)
    days_pass(session, 1)
    report(intake, rows[3].mail_from, dsn(rows[3].mail_from, 3, final=user.email))
    assert member(session, user.id).bouncing is False
    days_pass(session, 1)
    report(intake, rows[4].mail_from, dsn(rows[4].mail_from, 4, final=user.email))
    gone = member(session, user.id)
    assert (gone.bouncing, gone.bounce_count) == (True, 3)
    (event,) = session.scalars(select(Event).where(Event.kind == "member_bouncing"))
    assert event.subject_id == user.id and event.data["hard"] is True
    assert event.data["status"] == "5.1.1" and "User unknown" in event.data["diagnostic"]
    assert queued(app, session, gone, 99) is None


def test_old_bounces_age_out(app: Flask, session: Any, intake: Any) -> None:
    """Hard bounces on two days a month ago and one today: only today's counts."""
    user = make_user(session, email="back@corp.example", name="復帰")
    rows = [queued(app, session, user, n) for n in range(3)]
    report(intake, rows[0].mail_from, dsn(rows[0].mail_from, 0, final=user.email))
    days_pass(session, 1)
    report(intake, rows[1].mail_from, dsn(rows[1].mail_from, 1, final=user.email))
    days_pass(session, 30)
    report(intake, rows[2].mail_from, dsn(rows[2].mail_from, 2, final=user.email))
    back = member(session, user.id)
    assert (back.bouncing, back.bounce_count) == (False, 1)


def test_days_are_the_members_own(session: Any) -> None:
    """08:30 and 09:30 in Tokyo are one working morning, though UTC's midnight falls between."""
    morning = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # 08:30 on the 27th in Tokyo
    for when in (morning, morning + timedelta(hours=1)):
        session.add(BounceRecord(address="y@corp.example", permanent=True, created_at=when))
    session.flush()
    later = morning + timedelta(hours=2)
    tokyo = bounce_service.standing(
        session, "y@corp.example", bounce_service.Policy(), now=later, timezone="Asia/Tokyo"
    )
    assert (tokyo.hard_days, tokyo.any_days) == (1, 1)
    utc = bounce_service.standing(session, "y@corp.example", bounce_service.Policy(), now=later)
    assert utc.hard_days == 2


def test_verp_names_the_member_whatever_the_report_says(app: Flask, session: Any) -> None:
    app.config["BOUNCE_THRESHOLD"] = 1
    user = make_user(session, email="gone@corp.example", name="退職者")
    row = queued(app, session, user)
    # The report names another address (a forward): VERP says whom we wrote to.
    raw = dsn(row.mail_from, 1, final="alias@other.example")
    out = ingest.receive(app, raw, [row.mail_from], "smtp")
    assert (out.status, out.reason) == ("bounce", "bounce")
    gone = member(session, user.id)
    assert gone.bouncing and gone.bounce_count == 1
    rec = session.scalar(select(BounceRecord))
    assert (rec.address, rec.permanent, rec.status) == ("gone@corp.example", True, "5.1.1")


def test_soft_bounce_is_recorded_not_counted(app: Flask, session: Any) -> None:
    user = make_user(session, email="slow@corp.example", name="遅延")
    row = queued(app, session, user)
    raw = dsn(row.mail_from, 9, final="slow@corp.example", action="delayed", status="4.4.1")
    assert ingest.receive(app, raw, [row.mail_from], "smtp").status == "bounce"
    assert member(session, user.id).bounce_count == 0
    assert session.scalar(select(BounceRecord.permanent)) is False


def test_dsn_without_verp_counts_the_final_recipient(app: Flask, session: Any) -> None:
    user = make_user(session, email="nobody@corp.example", name="誰か")
    session.commit()
    raw = dsn("postmaster@hub.test", 1, final="nobody@corp.example")
    assert ingest.receive(app, raw, ["help@hub.test"], "imap").status == "bounce"
    assert member(session, user.id).bounce_count == 1


def test_a_vacation_notice_to_the_return_path_is_no_bounce(app: Flask, session: Any) -> None:
    """Some groupware answers the envelope sender while its owner is away: an auto-reply,
    ignored; counting it (as an unreadable bounce, hard) stopped the mail of anyone on leave."""
    user = make_user(session, email="away@corp.example", name="休暇中")
    row = queued(app, session, user)
    raw = (
        f"From: away@corp.example\r\nTo: {row.mail_from}\r\nSubject: 【不在】休暇中です\r\n"
        "Message-ID: <away-1@corp.example>\r\nAuto-Submitted: auto-replied\r\n\r\n"
        "12月1日まで休暇をいただいております。\r\n"
    ).encode()
    out = ingest.receive(app, raw, [row.mail_from], "smtp")
    assert (out.status, out.reason) == ("ignored", "auto_reply")
    assert session.scalar(select(func.count()).select_from(BounceRecord)) == 0


@pytest.mark.parametrize(
    ("status", "said", "hard"),
    [
        ("5.1.1", "550 5.1.1 User unknown", True),
        ("5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound", True),
        ("5.1.2", "Host or domain name not found", True),
        ("5.2.1", "550 5.2.1 The email account that you tried to reach is disabled", True),
        ("5.0.0", "550 No such user here", True),
        ("", "550 sorry, no mailbox here by that name", True),
        # Exchange Online, for an address its directory does not hold.
        ("5.4.1", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", True),
        ("5.4.1", "550 5.4.1 Relay Access Denied", False),
        ("5.2.2", "552 5.2.2 Mailbox full", False),
        ("5.0.0", "552 5.2.2 The email account that you tried to reach is over quota", False),
        ("5.0.0 (recipient reached disk quota)", "", False),
        ("4.2.2", "452 4.2.2 Mailbox full", False),
        ("4.1.1", "unknown user (Action: failed, but 4.x says temporary)", False),
        ("5.7.1", "550 5.7.1 Message rejected as spam by Content Filtering", False),
        (
            "5.7.1",
            "554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org",
            False,
        ),
        ("5.1.8", "553 5.1.8 Sender address domain does not exist", False),
        ("5.3.4", "552 5.3.4 Message size exceeds fixed limit", False),
        ("", "554 Transaction failed: blocked by policy", False),
    ],
)
def test_hard_or_soft(status: str, said: str, hard: bool) -> None:
    code = bounces.status_code(status, said)
    assert bounces.is_hard(code, f"{status} {said}", permanent=True) is hard


def test_the_relay_reply_is_classified_too() -> None:
    assert bounces.reply_failure("a@x.example", 550, "5.1.1 no such user").hard
    assert bounces.reply_failure("a@x.example", 550, "Requested action not taken").hard
    assert not bounces.reply_failure("a@x.example", 552, "5.2.2 Mailbox full").hard
    assert not bounces.reply_failure("a@x.example", 552, "Requested mail action aborted").hard
    assert not bounces.reply_failure("a@x.example", 554, "5.7.1 rejected by policy").hard
    # An IP address is no status code.
    assert bounces.status_code("connect to 10.4.2.2 failed") == ""


def _failures(path: Path) -> list[bounces.Failure]:
    raw = path.read_bytes()
    return bounces.report_failures(raw, parse(raw))


def test_corpus_reports_are_hard_or_soft_as_discourse_says() -> None:
    expected = json.loads((CORPUS / "discourse_2020/EXPECTED.json").read_text())
    checked = 0
    for name, case in expected.items():
        if "severity" not in case:
            continue
        failures = _failures(CORPUS / "discourse_2020" / name)
        assert failures and {f.hard for f in failures} == {case["severity"] == "hard"}, name
        checked += 1
    assert checked == 4


@pytest.mark.parametrize(
    "name",
    # Over quota, in a DSN with only 5.0.0 (PMDF, Sun), and in words (MDaemon, Yahoo, qmail,
    # Postfix's local delivery), and a delay.
    ["dsn_01", "dsn_04", "dsn_17", "simple_01", "yahoo_02", "qmail_06", "postfix_04"],
)
def test_corpus_quota_reports_are_soft(name: str) -> None:
    failures = _failures(CORPUS / "flufl_bounce/data" / f"{name}.txt")
    assert failures and not any(f.hard for f in failures), failures


def test_corpus_unknown_user_reports_are_hard() -> None:
    failures = _failures(CORPUS / "discourse_2020/bounced_email_multiple_status_codes.eml")
    assert {f.address for f in failures} == {"linux-admin@b-s-c.co.jp", "foo@b-s-c.co.jp"}
    assert all(f.hard and f.status == "5.1.1" for f in failures)


def test_corpus_bounces_never_answered(app: Flask, session: Any) -> None:
    for name in ("bounced_email.eml", "soft_bounce_via_verp.eml"):
        raw = (CORPUS / "discourse_2020" / name).read_bytes()
        out = ingest.receive(app, raw, ["help@hub.test"], "imap")
        assert out.status == "bounce"


# --- the relay refusing at once -------------------------------------------------------------


class Refusing:
    """A relay that answers RCPT as told per address (550, 552, 452 ...) and takes the rest."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.got: list[str] = []
        self.refuse_sender = ""

    async def handle_MAIL(self, server, session, envelope, address, options):  # noqa: ANN001
        if self.refuse_sender:
            return self.refuse_sender
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: ANN001
        if address in self.answers:
            return self.answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        self.got.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def relay(app: Flask) -> Iterator[Refusing]:
    """A real SMTP relay on loopback whose answers a test sets; the app's RELAY_URL."""
    handler = Refusing({})
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config["RELAY_URL"] = f"smtp://127.0.0.1:{controller.port}"
    try:
        yield handler
    finally:
        controller.stop()


def test_relay_refusals_count_by_what_they_say(app: Flask, session: Any, relay: Refusing) -> None:
    relay.answers.update({
        "gone@corp.example": "550 5.1.1 <gone@corp.example>: Recipient address rejected",
        "full@corp.example": "552 5.2.2 <full@corp.example>: Mailbox full",
    })  # fmt: skip
    gone = make_user(session, email="gone@corp.example", name="退職者")
    full = make_user(session, email="full@corp.example", name="満杯")
    fine = make_user(session, email="fine@corp.example", name="元気")
    for day in range(3):
        for user in (gone, full, fine):
            queued(app, session, user, day)
        delivery.drain_outbox(app)
        if day < 2:
            days_pass(session, 1)
        assert member(session, gone.id).bouncing is (day == 2)
    assert relay.got == ["fine@corp.example"] * 3
    assert member(session, full.id).bouncing is False
    assert member(session, fine.id).bouncing is False
    kinds = session.execute(
        select(BounceRecord.address, BounceRecord.permanent, BounceRecord.status).distinct()
    )
    assert set(kinds) == {
        ("gone@corp.example", True, "5.1.1"),
        ("full@corp.example", False, "5.2.2"),
    }
    failed = session.scalars(
        select(OutboxMessage.status).where(OutboxMessage.to_addr != fine.email)
    )
    assert set(failed) == {"failed"}
    why = session.scalar(
        select(BounceRecord.diagnostic).where(BounceRecord.address == "full@corp.example")
    )
    assert "Mailbox full" in why


def test_a_452_is_retried_then_counted_once_as_soft(
    app: Flask, session: Any, relay: Refusing
) -> None:
    relay.answers["full@corp.example"] = "452 4.2.2 <full@corp.example>: Mailbox full"
    user = make_user(session, email="full@corp.example", name="満杯")
    queued(app, session, user)
    now = utcnow()
    for attempt in range(delivery.MAX_ATTEMPTS):
        delivery.drain_outbox(app, now=now + timedelta(days=attempt))
        counted = session.scalar(select(func.count()).select_from(BounceRecord))
        session.rollback()
        # Retried with no bounce counted until the outbox gives up.
        assert counted == (1 if attempt == delivery.MAX_ATTEMPTS - 1 else 0)
    rec = session.scalar(select(BounceRecord))
    assert (rec.permanent, rec.status) == (False, "4.2.2")
    assert session.scalar(select(OutboxMessage.status)) == "failed"
    assert member(session, user.id).bouncing is False


def test_the_relay_refusing_our_sender_is_no_bounce(
    app: Flask, session: Any, relay: Refusing
) -> None:
    """Refused at MAIL FROM (our return path, our relay's standing): nothing about the member."""
    app.config["BOUNCE_THRESHOLD"] = 1
    relay.refuse_sender = "550 5.7.1 Sender rejected"
    user = make_user(session, email="fine@corp.example", name="元気")
    queued(app, session, user)
    delivery.drain_outbox(app)
    assert session.scalar(select(OutboxMessage.status)) == "failed"
    assert session.scalar(select(func.count()).select_from(BounceRecord)) == 0
    assert member(session, user.id).bouncing is False
