"""Mail retention: after KEEP_MAIL_DAYS the raw bytes of finished mail go, the rows stay, and
everything that reads those rows later (lost-token replies, digest replies) still works."""

from __future__ import annotations

import email
import smtplib
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.policy import compat32
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select, update

from hub import create_app, db, search
from hub.db import Base, utcnow
from hub.models import CaughtMail, InboundMessage, OutboxMessage, Post, User, Via
from hub.services import channels, threads
from mailbridge import digests, jobs, outbound, retention
from mailbridge.cli import main
from tests.conftest import japanese_app, test_settings
from tests.factories import make_channel, make_thread, make_user, signed_in
from tests.fixtures_mailout import deliver, text_of, to

BOSS = "boss@corp.example"


def _age(session: Any, model: Any, ids: list[int], days: int) -> None:
    """Make rows ``days`` days old (as if they had been written then)."""
    when = utcnow() - timedelta(days=days)
    column = {InboundMessage: "received_at", CaughtMail: "caught_at"}.get(model, "created_at")
    session.execute(update(model).where(model.id.in_(ids)).values({column: when}))
    session.commit()


def _outbox(app: Any, session: Any, tag: str, status: str) -> OutboxMessage:
    user = make_user(session, email=f"{tag}@corp.example")
    row = outbound.queue_mail(
        app, session, kind="test", dedupe_key=f"t:{tag}", to=user, template="login_link",
        context={"link": "http://hub.test/l", "minutes": 15},
        headers={"Reply-To": f"reply+{tag}@hub.test"},
    )  # fmt: skip
    assert row is not None
    row.status = status
    session.commit()
    return row


def _inbound(session: Any, tag: str, status: str) -> InboundMessage:
    raw = f"From: a@corp.example\r\nSubject: {tag}\r\n\r\n{'本文' * 500}\r\n".encode()
    row = InboundMessage(message_key=f"<{tag}@x>", raw=raw, source="smtp", status=status)
    session.add(row)
    session.commit()
    return row


def _raw(session: Any, model: Any, row_id: int) -> tuple[bytes, Any]:
    session.expire_all()
    row = session.get(model, row_id)
    session.commit()
    if row is None:
        return b"", "deleted"
    return row.raw, getattr(row, "raw_dropped_at", None)


def test_old_finished_mail_loses_its_raw_new_and_unfinished_keep_it(app, session):
    old_out = {s: _outbox(app, session, f"old-{s}", s) for s in ("sent", "failed", "cancelled")}
    kept_out = [_outbox(app, session, f"old-{s}", s) for s in ("pending", "sending")]
    new_out = _outbox(app, session, "new-sent", "sent")
    _age(session, OutboxMessage, [r.id for r in [*old_out.values(), *kept_out]], 91)
    finals = ("replied", "rejected", "ignored", "bounce")
    old_in = {s: _inbound(session, f"old-{s}", s) for s in finals}
    # Not processed yet, stopped by a bug (to be replayed), waiting for an admin or the member.
    kept_in = [_inbound(session, f"old-{s}", s) for s in ("received", "failed", "held")]
    new_in = _inbound(session, "new-replied", "replied")
    _age(session, InboundMessage, [r.id for r in [*old_in.values(), *kept_in]], 91)
    caught_old = CaughtMail(mail_from="a@hub.test", to_addr="x@corp.example", raw=b"x" * 1000)
    caught_new = CaughtMail(mail_from="a@hub.test", to_addr="x@corp.example", raw=b"y" * 10)
    session.add_all([caught_old, caught_new])
    session.commit()
    _age(session, CaughtMail, [caught_old.id], 91)
    sizes = {r.id: len(r.raw) for r in old_out.values()}
    in_sizes = sum(len(r.raw) for r in old_in.values())
    kept_raw = {(type(r), r.id): r.raw for r in [*kept_out, new_out, *kept_in, new_in]}
    statuses = {r.id: r.status for r in old_in.values()}
    caught_old_id, caught_new_id = caught_old.id, caught_new.id

    done = retention.prune(app, days=90, batch=2)  # batches smaller than the work

    assert (done.outbox.rows, done.inbound.rows, done.caught.rows) == (3, 4, 1)
    for row in old_out.values():
        raw, dropped = _raw(session, OutboxMessage, row.id)
        # Only the Reply-To stays: what a reply whose client lost the +token is routed by.
        assert dropped is not None
        assert raw == f"Reply-To: reply+old-{row.status}@hub.test\r\n".encode()
    assert done.outbox.bytes == sum(sizes.values()) - sum(
        len(f"Reply-To: reply+old-{s}@hub.test\r\n") for s in old_out
    )
    for row in [*kept_out, new_out]:
        raw, dropped = _raw(session, OutboxMessage, row.id)
        assert dropped is None and raw == kept_raw[OutboxMessage, row.id] and b"Subject:" in raw
    for row_id, status in statuses.items():
        assert _raw(session, InboundMessage, row_id)[0] == b""
        assert session.get(InboundMessage, row_id).status == status  # the outcome stays
    assert done.inbound.bytes == in_sizes
    for row in [*kept_in, new_in]:
        raw, dropped = _raw(session, InboundMessage, row.id)
        assert dropped is None and raw == kept_raw[InboundMessage, row.id]
    assert _raw(session, CaughtMail, caught_old_id)[1] == "deleted"
    assert _raw(session, CaughtMail, caught_new_id)[0] == b"y" * 10
    assert done.caught.bytes == 1000
    # A second run finds nothing left to drop.
    again = retention.prune(app, days=90)
    assert (again.rows, again.bytes) == (0, 0)


def test_the_daily_job_follows_keep_mail_days(app, session):
    row = _outbox(app, session, "a", "sent")
    _age(session, OutboxMessage, [row.id], 40)
    app.config["KEEP_MAIL_DAYS"] = 0  # keep forever
    assert jobs.prune_mail(app) == 0
    app.config["KEEP_MAIL_DAYS"] = 90
    assert jobs.prune_mail(app) == 0
    app.config["KEEP_MAIL_DAYS"] = 30
    assert jobs.prune_mail(app) == 1
    assert _raw(session, OutboxMessage, row.id)[1] is not None


def _cli(app: Flask, *args: str) -> Any:
    return CliRunner().invoke(main, ["mail", *args], obj=ScriptInfo(create_app=lambda: app))


def test_cli_dry_run_changes_nothing_then_prune_drops(app, session):
    row = _outbox(app, session, "a", "sent")
    msg = _inbound(session, "b", "posted")
    _age(session, OutboxMessage, [row.id], 20)
    _age(session, InboundMessage, [msg.id], 20)
    stub = len(b"Reply-To: reply+a@hub.test\r\n")
    expect_out, expect_in = len(row.raw) - stub, len(msg.raw)

    dry = _cli(app, "prune", "--days", "10", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would be dropped" in dry.output
    assert f"outbox mail: 1 rows, {expect_out} bytes" in dry.output
    assert f"inbound mail: 1 rows, {expect_in} bytes" in dry.output
    assert f"total: 2 rows, {expect_out + expect_in} bytes" in dry.output
    assert _raw(session, OutboxMessage, row.id) == (row.raw, None)
    assert _raw(session, InboundMessage, msg.id) == (msg.raw, None)
    # KEEP_MAIL_DAYS (90) keeps them: nothing to drop.
    assert "total: 0 rows, 0 bytes" in _cli(app, "prune").output

    done = _cli(app, "prune", "--days", "10")
    assert done.exit_code == 0, done.output
    assert f"total: 2 rows, {expect_out + expect_in} bytes" in done.output
    assert "would" not in done.output
    assert _raw(session, OutboxMessage, row.id)[1] is not None
    assert "total: 0 rows, 0 bytes" in _cli(app, "prune", "--days", "10").output
    assert _cli(app, "prune", "--days", "0").exit_code != 0


@pytest.fixture
def team(app: Any, session: Any, smtp_sink: Any) -> dict[str, Any]:
    """The boss (email only) in a channel with a thread he took part in, mail to a real sink."""
    app.config["RELAY_URL"] = smtp_sink.url
    boss = make_user(session, email=BOSS, name="部長", email_only=True)
    peer = make_user(session, email="peer@corp.example", name="花子")
    ch = make_channel(session, slug="general", name="全社", purpose="全社への連絡と相談")
    for u in (boss, peer):
        channels.join(session, user=u, channel=ch)
    t1 = make_thread(session, channel=ch, author=peer, title="来期の予算", body="予算案").thread
    t2 = make_thread(session, channel=ch, author=peer, title="懇親会の日程", body="18日").thread
    threads.reply(session, author=boss, thread=t1, body="見ます", via=Via.EMAIL)
    session.commit()
    deliver(app)
    smtp_sink.messages.clear()
    return {"t1": t1, "t2": t2, "peer": peer, "boss": boss}


def _send(port: int, to_addr: str, subject: str, body: str, in_reply_to: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"部長 <{BOSS}>", to_addr, f"Re: {subject}"
    msg["In-Reply-To"] = msg["References"] = in_reply_to
    msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", port) as client:
        assert client.send_message(msg) == {}


def _posts(session: Any, thread: Any) -> list[str]:
    session.expire_all()
    bodies = [p.body for p in session.scalars(select(Post).where(Post.thread_id == thread.id))]
    session.commit()  # end the read: SQLite's writer (the intake) must not wait for us
    return bodies


def _prune_all(app: Any, session: Any) -> None:
    ids = list(session.scalars(select(OutboxMessage.id)))
    _age(session, OutboxMessage, ids, 100)
    assert retention.prune(app, days=90).outbox.rows == len(ids)


def test_lost_token_reply_to_an_old_notification_still_threads(
    app, session, smtp_sink, team, intake
):
    t1, peer = team["t1"], team["peer"]
    threads.reply(session, author=peer, thread=t1, body="修正しました", via=Via.WEB)
    session.commit()
    deliver(app)
    (note,) = to(smtp_sink, BOSS)
    assert str(note["Reply-To"]).startswith("reply+")
    _prune_all(app, session)
    # Months later the boss answers it from a client (or through a gateway) that lost the
    # +token: reply@ with In-Reply-To the notification's own Message-ID.
    _send(intake.port, "reply@hub.test", str(note["Subject"]), "承認します", note["Message-ID"])
    assert _posts(session, t1)[-1] == "承認します"
    row = session.scalar(select(InboundMessage).order_by(InboundMessage.id.desc()))
    assert row.status == "replied" and row.thread_id == t1.id


def _digest(app: Any, session: Any, sink: Any) -> EmailMessage:
    boss = session.scalar(select(User).where(User.email == BOSS))
    assert digests.build_and_queue_digest(app, session, boss, "daily:a", utcnow()) is not None
    session.commit()
    deliver(app)
    return [m for m in to(sink, BOSS) if str(m["Reply-To"]).startswith("digest+")][-1]


def test_digest_reply_to_a_digest_whose_raw_was_dropped_routes_by_its_markers(
    app, session, smtp_sink, team, intake
):
    t1, t2 = team["t1"], team["t2"]
    digest = _digest(app, session, smtp_sink)
    _prune_all(app, session)
    lines = text_of(digest).splitlines()
    m1 = next(k for k, ln in enumerate(lines) if f"[#{t1.id}]" in ln)
    m2 = next(k for k, ln in enumerate(lines) if f"[#{t2.id}]" in ln)
    answers = {m1: "予算は承認します。", m2: "懇親会は参加します。"}
    body = ["2026年11月27日(金) 8:00 Hiroba <hiroba@hub.test>:", ""]
    for k, ln in enumerate(lines):
        body.append(f"> {ln}" if ln else ">")
        if k in answers:
            body += ["", answers[k], ""]
    sub = str(digest["Subject"])
    _send(intake.port, digest["Reply-To"], sub, "\n".join(body), digest["Message-ID"])
    assert _posts(session, t1)[-1] == "予算は承認します。"
    assert _posts(session, t2)[-1] == "懇親会は参加します。"
    # Outlook's unquoted copy of the digest can no longer be told from the member's text (the
    # digest's lines are gone): nothing is posted anywhere by guesswork, and the member is told,
    # with what they wrote, so nothing is lost.
    smtp_sink.messages.clear()
    copy = "\r\n".join([*lines[:m2], "→ 懇親会は欠席します。", *lines[m2:]])
    outlook = f"\r\n\r\n____________\r\n差出人: Hiroba <hiroba@hub.test>\r\n\r\n{copy}"
    _send(intake.port, digest["Reply-To"], sub, outlook, digest["Message-ID"])
    row = session.scalar(select(InboundMessage).order_by(InboundMessage.id.desc()))
    session.commit()
    assert (row.status, row.reason) == ("rejected", "empty_body")
    assert _posts(session, t2)[-1] == "懇親会は参加します。"
    deliver(app)
    assert any("懇親会は欠席します" in text_of(m) for m in to(smtp_sink, BOSS))


def test_a_new_sqlite_file_gives_the_freed_pages_back(tmp_path: Path) -> None:
    """SQLite whatever the suite runs on: a new file is in incremental auto-vacuum mode (with
    WAL), so pruning shrinks it instead of leaving free pages for VACUUM."""
    url = f"sqlite:///{tmp_path / 'shrink.db'}"
    engine = db.make_engine(url)
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
        search.install(conn)
        assert conn.exec_driver_sql("PRAGMA auto_vacuum").scalar() == 2
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
    app = create_app(test_settings(url, tmp_path))
    old = utcnow() - timedelta(days=100)
    with db.transaction(app) as s:
        user = make_user(s, email="a@corp.example")
        for n in range(60):
            s.add(OutboxMessage(dedupe_key=f"k{n}", kind="test", user_id=user.id, status="sent",
                                to_addr=user.email, mail_from="h@hub.test", message_id=f"{n}@h",
                                raw=b"Reply-To: x@hub.test\r\n\r\n" + b"z" * 30_000,
                                created_at=old))  # fmt: skip
    with db.engine_of(app).connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    done = retention.prune(app, days=90)
    assert done.outbox.rows == 60 and done.reclaimed_pages
    with db.engine_of(app).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA freelist_count").scalar() == 0
        assert conn.exec_driver_sql("PRAGMA page_count").scalar() < pages - 300
    db.engine_of(app).dispose()


def test_stub_keeps_only_the_reply_to() -> None:
    raw = b"From: Hiroba <h@hub.test>\r\nReply-To: reply+abc@hub.test\r\nSubject: x\r\n\r\nbody\r\n"
    kept = retention.stub(raw)
    assert kept == b"Reply-To: reply+abc@hub.test\r\n"
    parsed = email.message_from_bytes(kept, policy=compat32)
    assert parsed["Reply-To"] == "reply+abc@hub.test"
    assert retention.stub(b"Subject: none\r\n\r\nx") == b""


@pytest.fixture
def ja_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    with japanese_app(database_url, tmp_path) as application:
        yield application


DROPPED = {
    "en": ("The source of this mail was deleted on", "This mail cannot be replayed"),
    "ja": ("このメールの元データ（ソース）は", "このメールは再処理できません"),
}


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_admin_page_of_a_dropped_message_says_so_and_offers_no_replay(
    ja_app: Flask, locale: str
) -> None:
    app = ja_app
    s = app.extensions["hiroba.sessionmaker"]()
    make_user(s, email="kanri@corp.example", name="管理者", admin=True, locale=locale)
    old = _inbound(s, "old", "replied")
    old.text = "承認します"
    s.commit()
    old_id, new_id = old.id, _inbound(s, "new", "rejected").id
    _age(s, InboundMessage, [old_id], 100)
    s.close()
    retention.prune(app, days=90)
    admin = signed_in(app, "kanri@corp.example")
    page = admin.get(f"/admin/mail/{old_id}").text
    said, refused = DROPPED[locale]
    assert said in page and 'id="raw-dropped"' in page
    assert "承認します" in page  # what became of it stays
    assert "/replay" not in page and 'class="raw-source"' not in page
    # A replay posted anyway (an old tab) is refused, saying why; nothing changes.
    r = admin.post(f"/admin/mail/{old_id}/replay", follow_redirects=True)
    assert r.status_code == 200 and refused in r.text
    with db.transaction(app) as s:
        assert s.get(InboundMessage, old_id).status == "replied"
    # A message still whole shows its source and, refused, can be replayed.
    page = admin.get(f"/admin/mail/{new_id}").text
    assert f"/admin/mail/{new_id}/replay" in page and 'class="raw-source"' in page
    assert 'id="raw-dropped"' not in page


def test_cli_replay_of_a_dropped_message_is_refused(app, session):
    row = _inbound(session, "old", "posted")
    _age(session, InboundMessage, [row.id], 100)
    retention.prune(app, days=90)
    result = _cli(app, "replay", str(row.id))
    assert result.exit_code != 0
    assert "cannot be replayed: its raw bytes were dropped" in result.output
    assert _raw(session, InboundMessage, row.id)[0] == b""
    assert session.get(InboundMessage, row.id).status == "posted"
