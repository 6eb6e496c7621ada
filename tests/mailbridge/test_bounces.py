"""Bounces: VERP attribution, counting per address, the threshold that stops mail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from hub.models import BounceRecord, Event, User
from mailbridge import ingest, outbound
from tests.factories import make_user

DSN = """\
From: MAILER-DAEMON@mx.corp.example (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-{n}@mx.corp.example>
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

--b--
"""


def queued(app: Flask, session: Any, user: User) -> Any:
    row = outbound.queue_mail(
        app, session, kind="command", dedupe_key=f"t:{user.id}", to=user, template="help",
        context={"help_address": "help@hub.test", "channels": []},
    )  # fmt: skip
    session.commit()
    return row


def dsn(to: str, n: int, final: str, action: str = "failed", status: str = "5.1.1") -> bytes:
    text = DSN.format(to=to, n=n, rcpt=final, final=final, action=action, status=status)
    return text.replace("\n", "\r\n").encode()


def test_verp_bounces_count_and_stop_mail(app: Flask, session: Any) -> None:
    app.config["BOUNCE_THRESHOLD"] = 2
    user = make_user(session, email="gone@corp.example", name="退職者")
    row = queued(app, session, user)
    for n in range(2):
        # The report names another address: VERP says whom we wrote to.
        raw = dsn(row.mail_from, n, final="alias@other.example")
        out = ingest.receive(app, raw, [row.mail_from], "smtp")
        assert (out.status, out.reason) == ("bounce", "bounce")
    session.expire_all()
    user = session.get(User, user.id)
    assert user.bounce_count == 2 and user.bouncing
    assert session.scalar(select(func.count()).select_from(BounceRecord)) == 2
    assert session.scalar(select(Event.kind).where(Event.kind == "member_bouncing"))
    assert (
        outbound.queue_mail(
            app, session, kind="x", dedupe_key="y", to=user, template="help", context={}
        )
        is None
    )


def test_soft_bounce_is_recorded_not_counted(app: Flask, session: Any) -> None:
    user = make_user(session, email="slow@corp.example", name="遅延")
    row = queued(app, session, user)
    raw = dsn(row.mail_from, 9, final="slow@corp.example", action="delayed", status="4.4.1")
    assert ingest.receive(app, raw, [row.mail_from], "smtp").status == "bounce"
    session.expire_all()
    assert session.get(User, user.id).bounce_count == 0
    assert session.scalar(select(BounceRecord.permanent)) is False


def test_dsn_without_verp_counts_the_final_recipient(app: Flask, session: Any) -> None:
    user = make_user(session, email="nobody@corp.example", name="誰か")
    session.commit()
    raw = dsn("postmaster@hub.test", 1, final="nobody@corp.example")
    assert ingest.receive(app, raw, ["help@hub.test"], "imap").status == "bounce"
    session.expire_all()
    assert session.get(User, user.id).bounce_count == 1


def test_corpus_bounces_never_answered(app: Flask, session: Any) -> None:
    corpus = Path(__file__).resolve().parents[1] / "corpus" / "discourse_2020"
    for name in ("bounced_email.eml", "soft_bounce_via_verp.eml"):
        out = ingest.receive(app, (corpus / name).read_bytes(), ["help@hub.test"], "imap")
        assert out.status == "bounce"
