"""Digests: order, markers and reply links, exactly once per period, authorization, due hours."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.db import utcnow
from hub.models import ChannelKind, Delivery, DigestRun, OutboxMessage, Thanks, ThanksRecipient, Via
from hub.services import announcements, channels, threads
from mailbridge import delivery, digest_activity, digest_batch, digests, jobs
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import text_of, to


@pytest.fixture
def company(app: Any, session: Any, smtp_sink: Any) -> dict[str, Any]:
    app.config["RELAY_URL"] = smtp_sink.url
    boss = make_user(session, email="boss@corp.example", name="部長", email_only=True)
    peer = make_user(session, email="peer@corp.example", name="花子")
    work = make_channel(session, slug="work", name="仕事", purpose="仕事の相談をする場所")
    fun = make_channel(session, slug="fun", name="雑談", purpose="雑談", kind=ChannelKind.SOCIAL)
    secret = make_channel(session, slug="hr", name="人事", private=True, reason="人事情報")
    channels.add_member(session, user=peer, channel=secret, actor=None)
    session.commit()
    return {"boss": boss, "peer": peer, "work": work, "fun": fun, "secret": secret}


def _build(app: Any, session: Any, user: Any, period: str = "daily:test") -> Any:
    row = digests.build_and_queue_digest(app, session, user, period, utcnow())
    session.commit()
    return row


def test_digest_order_markers_and_links(app, session, smtp_sink, company):
    boss, peer = company["boss"], company["peer"]
    mine = make_thread(session, channel=company["work"], author=boss, title="部長の質問", body="?")
    threads.reply(session, author=peer, thread=mine.thread, body="これでいいですか？", via=Via.WEB)
    make_thread(session, channel=company["fun"], author=peer, title="ランチ", body="行こう")
    make_thread(session, channel=company["work"], author=peer, title="報告", body="@boss 見て")
    make_thread(session, channel=company["work"], author=peer, title="議事録", body="共有します")
    make_thread(session, channel=company["secret"], author=peer, title="給与表", body="秘密")
    card = Thanks(sender=peer, message="いつもありがとう")
    card.recipients.append(ThanksRecipient(user_id=boss.id))
    session.add(card)
    session.commit()
    row = _build(app, session, boss)
    assert row is not None
    delivery.drain_outbox(app)
    (mail,) = to(smtp_sink, "boss@corp.example")
    body = text_of(mail)
    # What needs him first, then thanks, then channels (purpose under the name), social last.
    order = [body.index(s) for s in ("見て", "これでいいですか", "いつもありがとう", "== 仕事 ==",
                                      "仕事の相談をする場所", "== 雑談 ==")]  # fmt: skip
    assert order == sorted(order)
    assert "給与表" not in body and "秘密" not in body
    markers = set(re.findall(r"\[#(\d+)\]", body))
    assert str(mine.thread.id) in markers
    assert "mailto:reply+" in body
    assert str(mail["Reply-To"]).startswith("digest+")
    run = session.scalar(select(DigestRun).where(DigestRun.user_id == boss.id))
    assert {i["thread_id"] for i in run.items["threads"]} == {int(m) for m in markers}
    assert run.message_id == str(mail["Message-ID"]).strip("<>")


def test_nothing_new_no_digest_and_once_per_period(app, session, company):
    boss, peer = company["boss"], company["peer"]
    assert _build(app, session, boss, "daily:1") is None
    make_thread(session, channel=company["work"], author=peer, title="新着", body="x")
    session.commit()
    assert _build(app, session, boss, "daily:2") is not None
    assert _build(app, session, boss, "daily:2") is None
    # The next period starts where the last one ended: nothing new since.
    assert _build(app, session, boss, "daily:3") is None
    count = session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == "digest"))  # fmt: skip
    assert count == 1


def test_private_content_only_while_a_member(app, session, company):
    boss, peer, secret = company["boss"], company["peer"], company["secret"]
    channels.add_member(session, user=boss, channel=secret, actor=None)
    make_thread(session, channel=secret, author=peer, title="人事異動", body="内示")
    session.commit()
    channels.leave(session, user=boss, channel=secret)
    session.commit()
    assert _build(app, session, boss) is None


def test_due_hours_in_members_zones(session, company):
    boss = company["boss"]
    boss.timezone, boss.digest_hour, boss.working_days = "Europe/Berlin", 8, "mon,tue,wed,thu,fri"
    monday_7_berlin = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert digests.due_period(boss, monday_7_berlin) is None
    assert digests.due_period(boss, monday_7_berlin + timedelta(hours=1)) == "daily:2026-11-30"
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert digests.due_period(boss, saturday) is None
    boss.timezone = "Asia/Tokyo"
    # 23:30 UTC Sunday is 08:30 Monday in Tokyo.
    assert digests.due_period(boss, datetime(2026, 11, 29, 23, 30, tzinfo=UTC)) == (
        "daily:2026-11-30"
    )
    boss.delivery, boss.digest_weekday = "weekly", 0
    assert digests.due_period(boss, datetime(2026, 11, 29, 23, 30, tzinfo=UTC)) == (
        "weekly:2026-W49"
    )


def test_a_night_shifts_digest_hour_belongs_to_the_shift_it_falls_in(session, company):
    # Mon-Fri 22:00-06:00 in Tokyo, digest at 02:00: inside Monday night's to Friday night's
    # shifts (Tuesday to Saturday mornings), never on Monday 02:00 (Sunday night is off).
    boss = company["boss"]
    boss.timezone, boss.working_days = "Asia/Tokyo", "mon,tue,wed,thu,fri"
    boss.work_start, boss.work_end, boss.digest_hour = 22 * 60, 6 * 60, 2
    at_two = {  # 02:00 in Tokyo is 17:00 UTC the day before
        "sat": datetime(2026, 11, 27, 17, 0, tzinfo=UTC),
        "mon": datetime(2026, 11, 29, 17, 0, tzinfo=UTC),
        "tue": datetime(2026, 11, 30, 17, 0, tzinfo=UTC),
    }
    assert digests.due_period(boss, at_two["sat"]) == "daily:2026-11-28"
    assert digests.due_period(boss, at_two["mon"]) is None
    assert digests.due_period(boss, at_two["tue"]) == "daily:2026-12-01"
    # A day worker's digest is where it was.
    boss.work_start, boss.work_end, boss.digest_hour = 9 * 60, 18 * 60, 8
    assert digests.due_period(boss, at_two["mon"] + timedelta(hours=6)) == "daily:2026-11-30"
    assert digests.due_period(boss, at_two["sat"] + timedelta(hours=6)) is None


def test_digest_job_sends_each_member_once(app, session, smtp_sink, company):
    boss, peer = company["boss"], company["peer"]
    make_thread(session, channel=company["work"], author=peer, title="月曜の件", body="x")
    # A member whose digest hour has come today, every day.
    boss.timezone, boss.digest_hour = "UTC", 0
    boss.working_days = "mon,tue,wed,thu,fri,sat,sun"
    session.commit()
    assert jobs.send_digests(app) == 1
    assert jobs.send_digests(app) == 0
    delivery.drain_outbox(app)
    assert len([m for m in to(smtp_sink, "boss@corp.example") if "月曜の件" in text_of(m)]) == 1


def test_one_failing_member_does_not_hold_back_the_batch(app, session, company, monkeypatch):
    boss = company["boss"]
    other = make_user(session, email="other@corp.example", name="次郎", email_only=True)
    for member in (boss, other):
        member.timezone, member.digest_hour = "UTC", 0
        member.working_days = "mon,tue,wed,thu,fri,sat,sun"
    make_thread(session, channel=company["work"], author=company["peer"], title="週報", body="x")
    session.commit()
    bad_id, real = boss.id, digest_batch.build

    def failing_for_the_boss(app, session, members, *args):
        if any(user.id == bad_id for user, _period, _since in members):
            raise RuntimeError("a broken digest")
        return real(app, session, members, *args)

    monkeypatch.setattr(digest_batch, "build", failing_for_the_boss)
    assert jobs.send_digests(app) == 1  # the other member still gets theirs
    session.expire_all()
    queued = session.scalars(select(OutboxMessage.to_addr).where(OutboxMessage.kind == "digest"))
    assert list(queued) == ["other@corp.example"]
    session.commit()  # SQLite: our read must not hold the job's write lock
    monkeypatch.setattr(digest_batch, "build", real)
    assert jobs.send_digests(app) == 1  # and the boss's is built on the next run


def test_a_batch_whose_rows_cannot_be_written_is_retried_member_by_member(
    app, session, company, monkeypatch
):
    # A batch's rows are written in a writer thread while the next batch is built: a failure
    # there rolls the batch back (its DigestRuns too) and retries it one by one.
    monkeypatch.setattr(digest_batch, "DIGEST_BATCH", 2)
    members = [company["boss"]] + [
        make_user(session, email=f"m{i}@corp.example", name=f"社員{i}", email_only=True)
        for i in range(4)
    ]
    for member in members:
        member.timezone, member.digest_hour = "UTC", 0
        member.working_days = "mon,tue,wed,thu,fri,sat,sun"
    make_thread(session, channel=company["work"], author=company["peer"], title="週報", body="x")
    session.commit()
    real = digest_batch.write

    def failing_for_the_boss(session, rows):
        if any(row["to_addr"] == "boss@corp.example" for row in rows):
            raise RuntimeError("the disk is full")
        return real(session, rows)

    monkeypatch.setattr(digest_batch, "write", failing_for_the_boss)
    assert jobs.send_digests(app) == 4
    session.expire_all()
    queued = session.scalars(select(OutboxMessage.to_addr).where(OutboxMessage.kind == "digest"))
    assert sorted(queued) == [f"m{i}@corp.example" for i in range(4)]
    runs = session.scalars(select(DigestRun.user_id)).all()
    assert company["boss"].id not in runs  # rolled back with its rows: built on the next run
    session.commit()
    monkeypatch.setattr(digest_batch, "write", real)
    assert jobs.send_digests(app) == 1


def test_batched_job_reads_each_members_access_and_claims_once(app, session, smtp_sink, company):
    boss, peer, secret = company["boss"], company["peer"], company["secret"]
    other = make_user(session, email="other@corp.example", name="次郎", email_only=True)
    for member in (boss, other):
        member.timezone, member.digest_hour = "UTC", 0
        member.working_days = "mon,tue,wed,thu,fri,sat,sun"
        channels.add_member(session, user=member, channel=secret, actor=None)
    make_thread(session, channel=secret, author=peer, title="人事異動", body="内示")
    make_thread(session, channel=company["work"], author=peer, title="週報", body="x")
    session.commit()
    # The boss left the private channel before the digest: the other member stayed.
    channels.leave(session, user=boss, channel=secret)
    session.commit()
    assert jobs.send_digests(app) == 2
    # A second worker on the same members and period claims nothing and queues nothing.
    now = utcnow()
    period = digests.due_period(boss, now)
    again = [(boss, period, now - timedelta(days=1)), (other, period, now - timedelta(days=1))]
    built = digest_batch.build(app, session, again, now, {})
    assert digest_batch.queue(app, session, built, now, {}) == []
    session.commit()
    delivery.drain_outbox(app)
    (boss_mail,) = to(smtp_sink, "boss@corp.example")
    (other_mail,) = to(smtp_sink, "other@corp.example")
    assert "週報" in text_of(boss_mail) and "人事異動" not in text_of(boss_mail)
    assert "人事異動" in text_of(other_mail)
    runs = session.scalars(select(DigestRun).where(DigestRun.period == period)).all()
    assert sorted(r.user_id for r in runs) == sorted([boss.id, other.id])
    assert {r.message_id for r in runs} == {
        str(boss_mail["Message-ID"]).strip("<>"),
        str(other_mail["Message-ID"]).strip("<>"),
    }


def test_channel_turned_off_is_left_out_of_the_digest(app, session, smtp_sink, company):
    boss, peer = company["boss"], company["peer"]
    membership = channels.add_member(session, user=boss, channel=company["fun"], actor=None)
    membership.delivery = Delivery.OFF
    make_thread(session, channel=company["fun"], author=peer, title="ランチ会", body="行こう")
    make_thread(session, channel=company["work"], author=peer, title="議事録", body="x")
    session.commit()
    assert _build(app, session, boss) is not None
    delivery.drain_outbox(app)
    (mail,) = to(smtp_sink, "boss@corp.example")
    assert "議事録" in text_of(mail) and "ランチ会" not in text_of(mail)


def test_each_member_sees_counts_and_snippets_without_their_own_posts(app, session, company):
    """Members who wrote nothing in a channel share one section; a member who wrote there
    sees the threads counted and quoted without their own posts (and not a thread that holds
    only theirs)."""
    boss, peer = company["boss"], company["peer"]
    other = make_user(session, email="other@corp.example", name="他部署", email_only=True)
    third = make_user(session, email="third@corp.example", name="三人目", email_only=True)
    since = utcnow() - timedelta(minutes=1)
    plan = make_thread(session, channel=company["work"], author=peer, title="計画", body="案A")
    threads.reply(session, author=peer, thread=plan.thread, body="案B", via=Via.WEB)
    threads.reply(session, author=boss, thread=plan.thread, body="部長の意見", via=Via.EMAIL)
    make_thread(session, channel=company["work"], author=boss, title="部長だけ", body="独り言")
    session.commit()
    act = digest_activity.load_activity(session, since, utcnow())

    def work_items(user: Any) -> dict[str, tuple[int, str, str]]:
        digest = digests.collect_digest(session, user, since, utcnow(), activity=act)
        (section,) = [c for c in digest.channels if c.slug == "work"]
        return {i.title: (i.count, i.author, i.snippet) for i in section.items}

    assert work_items(boss) == {"計画": (2, "花子", "案B")}
    assert work_items(other) == {
        "計画": (3, "部長", "部長の意見"),
        "部長だけ": (1, "部長", "独り言"),
    }
    assert work_items(third) == work_items(other)
    sections = [
        next(c for c in digests.collect_digest(session, u, since, utcnow(), activity=act).channels
             if c.slug == "work")
        for u in (other, third)
    ]  # fmt: skip
    assert sections[0] is sections[1]  # built once, shared (and rendered once) for both


def test_digest_names_the_mentioned_and_leaves_out_a_missing_author(
    app, session, smtp_sink, company
):
    boss, peer = company["boss"], company["peer"]
    make_thread(
        session, channel=company["work"], author=peer, title="報告", body="@boss 見てください"
    )
    # An announcement published from the admin CLI has no author.
    announcements.publish(
        session, author=None, title="年末年始の休業", body="12/29から休みです", ack_required=False,
        urgent=False,
    )  # fmt: skip
    session.commit()
    _build(app, session, boss)
    delivery.drain_outbox(app)
    (mail,) = to(smtp_sink, "boss@corp.example")
    body, html = text_of(mail), mail.get_body(("html",)).get_content()
    # As notification mails do: the mention shows the member's name, not their handle.
    assert "@部長 見て" in body and "@boss" not in body
    assert "@部長 見て" in html
    # The announcement's line has no empty author before its text.
    line = next(x for x in body.splitlines() if "12/29から休みです" in x)
    assert ": 12/29" not in line and line.strip().endswith("· 12/29から休みです")
    assert "· : " not in html
