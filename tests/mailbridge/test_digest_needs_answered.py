"""A digest's "Needs you" lists what still needs the member: a mention or a question they have
since answered in that thread is not listed, and several in one thread are one item (the
latest, with how many more). Through the fan-out, the real digest job and the outbox drain to
an SMTP sink, with an explicit clock (a weekly digest on Monday 08:00 in Tokyo; the rows the
services date by the real clock are dated by the test); SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update

from hub.models import Delivery, Mention, Post, Thread, Via
from hub.services import channels, threads
from mailbridge import jobs
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import deliver, text_of, to

# Tokyo times, as UTC: Tuesday 24 November 2026 10:00 onwards; the weekly digest on Monday
# 30 November at 08:00.
TUE_10 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
TUE_11 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
WED_10 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
WED_15 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
THU_10 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
FRI_10 = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
MON_8 = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
BOSS = "yamamoto@corp.example"


@pytest.fixture
def world(app: Any, session: Any, smtp_sink: Any) -> dict[str, Any]:
    """山本 (an email-only manager on the weekly digest, Mondays at 08:00 in Tokyo) and 田中
    (a web member), both in 営業."""
    app.config["RELAY_URL"] = smtp_sink.url
    boss = make_user(
        session, email=BOSS, name="山本 誠", email_only=True, timezone="Asia/Tokyo",
        working_days="mon-fri", working_hours="09:00-18:00",
    )  # fmt: skip
    boss.delivery, boss.digest_hour, boss.digest_weekday = Delivery.WEEKLY, 8, 0
    tanaka = make_user(session, email="tanaka@corp.example", name="田中 健太")
    sales = make_channel(session, slug="sales", name="営業")
    for user in (boss, tanaka):
        channels.join(session, user=user, channel=sales)
    session.commit()
    return {"boss": boss, "tanaka": tanaka, "sales": sales, "sink": smtp_sink}


def _dated(session: Any, post: Post, at: datetime) -> Post:
    """Date ``post`` (and whom it mentions) ``at``, as if written then."""
    post.created_at = post.thread.last_post_at = at
    if post.thread.created_at > at:
        post.thread.created_at = at
    session.execute(update(Mention).where(Mention.post_id == post.id).values(created_at=at))
    session.commit()
    return post


def start(session: Any, world: dict[str, Any], who: str, title: str, body: str,
          at: datetime) -> Thread:  # fmt: skip
    post = make_thread(session, channel=world["sales"], author=world[who], title=title, body=body)
    session.flush()
    post.thread.created_at = at
    return _dated(session, post, at).thread


def write(session: Any, world: dict[str, Any], who: str, thread: Thread, body: str,
          at: datetime) -> None:  # fmt: skip
    post = threads.reply(session, author=world[who], thread=thread, body=body, via=Via.WEB)
    session.flush()
    _dated(session, post, at)


def needs_you(app: Any, world: dict[str, Any]) -> str:
    """The "Needs you" section of 山本's Monday digest (the job and the drain at 08:00)."""
    deliver(app, MON_8)
    jobs.send_digests(app, MON_8)
    deliver(app, MON_8)
    (digest,) = [m for m in to(world["sink"], BOSS) if "digest" in str(m["Subject"]).lower()]
    text = text_of(digest)
    assert "== Needs you ==" in text
    return text.split("== Needs you ==", 1)[1].split("\n== ", 1)[0]


def test_a_mention_he_answered_in_the_thread_is_not_listed(app, session, world):
    quote = start(session, world, "tanaka", "見積の件", "来週の見積を作ります。", TUE_10)
    write(session, world, "tanaka", quote, "@yamamoto 単価の確認をお願いします", TUE_11)
    for n, at in enumerate((WED_10, WED_15, THU_10, FRI_10, FRI_10), start=1):
        write(session, world, "boss", quote, f"確認しました（{n}）", at)
    booth = start(session, world, "tanaka", "展示会", "ブースの件です。", TUE_10)
    write(session, world, "tanaka", booth, "@yamamoto 会場の図面を見てください", WED_10)
    needs = needs_you(app, world)
    assert f"[#{quote.id}]" not in needs
    assert "単価の確認" not in needs
    # A mention he has not answered is still there.
    assert f"[#{booth.id}]" in needs and "会場の図面" in needs


def test_several_mentions_in_one_thread_are_one_item_the_latest(app, session, world):
    booth = start(session, world, "tanaka", "展示会", "ブースの件です。", TUE_10)
    write(session, world, "tanaka", booth, "@yamamoto 会場の図面を見てください", TUE_11)
    write(session, world, "tanaka", booth, "@yamamoto 搬入の時間も決めてください", WED_10)
    write(session, world, "tanaka", booth, "@yamamoto 予算の上限も教えてください", THU_10)
    needs = needs_you(app, world)
    assert needs.count(f"[#{booth.id}]") == 1
    assert "予算の上限" in needs and "会場の図面" not in needs
    assert "(2 more in this thread)" in needs


def test_only_mentions_after_his_last_answer_count(app, session, world):
    booth = start(session, world, "tanaka", "展示会", "ブースの件です。", TUE_10)
    write(session, world, "tanaka", booth, "@yamamoto 会場の図面を見てください", TUE_11)
    write(session, world, "boss", booth, "見ました。", WED_10)
    write(session, world, "tanaka", booth, "@yamamoto 搬入の時間も決めてください", THU_10)
    needs = needs_you(app, world)
    assert needs.count(f"[#{booth.id}]") == 1 and "搬入の時間" in needs
    assert "会場の図面" not in needs and "more in this thread" not in needs


def test_a_question_he_answered_in_his_thread_is_not_listed(app, session, world):
    budget = start(session, world, "boss", "来期の予算", "各課の案を集めます。", TUE_10)
    write(session, world, "tanaka", budget, "締め切りはいつですか？", WED_10)
    write(session, world, "boss", budget, "金曜までです。", THU_10)
    trip = start(session, world, "boss", "出張申請", "来月の出張です。", TUE_10)
    write(session, world, "tanaka", trip, "宿泊は必要ですか？", WED_10)
    write(session, world, "tanaka", trip, "新幹線は指定席ですか？", THU_10)
    needs = needs_you(app, world)
    assert f"[#{budget.id}]" not in needs
    assert needs.count(f"[#{trip.id}]") == 1 and "指定席" in needs
    assert "(1 more in this thread)" in needs
