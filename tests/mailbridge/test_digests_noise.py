"""A manager's digest says each thing once, in its place: a post is shown where it matters most
(a mention, else a question in his thread, else its channel), a question naming someone else
is theirs, an announcement he acknowledged is not listed again, and the first line agrees with
how the digest asks to be answered. Mail over a real SMTP sink, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import event, select

from hub.db import engine_of, utcnow
from hub.models import DigestRun, Via
from hub.services import acknowledgements, announcements, rules, threads
from mailbridge import delivery, digests, jobs, outbound
from mailbridge.quote_patterns import REPLY_MARKER
from tests.factories import make_channel, make_thread, make_user, signed_in
from tests.fixtures_mailout import deliver, text_of, to

BOSS = "boss@corp.example"


@pytest.fixture
def office(app: Any, session: Any, smtp_sink: Any) -> dict[str, Any]:
    """部長 (email only, daily digest), 花子 and 高橋 in the open channel 仕事, and an admin."""
    app.config["RELAY_URL"] = smtp_sink.url
    people = {
        "boss": make_user(session, email=BOSS, name="部長", email_only=True),
        "peer": make_user(session, email="peer@corp.example", name="花子"),
        "takahashi": make_user(session, email="takahashi@corp.example", name="高橋",
                               email_only=True),
        "admin": make_user(session, email="admin@corp.example", name="総務", admin=True),
        "work": make_channel(session, slug="work", name="仕事", purpose="仕事の相談をする場所"),
    }  # fmt: skip
    session.commit()
    return people


def _digest(app: Any, session: Any, sink: Any, email: str) -> tuple[str, str]:
    """Build the member's digest now, send it; its text and HTML parts."""
    user = session.scalar(select(digests.User).where(digests.User.email == email))
    assert digests.build_and_queue_digest(app, session, user, "daily:t", utcnow()) is not None
    session.commit()
    delivery.drain_outbox(app)
    mail: EmailMessage = [m for m in to(sink, email) if "digest" in str(m["List-Id"])][-1]
    return text_of(mail), mail.get_body(("html",)).get_content()


def _part(text: str, heading: str) -> str:
    """The lines under ``== heading ==`` up to the next heading."""
    return text.split(f"== {heading} ==", 1)[1].split("\n== ", 1)[0]


def test_a_post_is_shown_once_in_its_most_important_place(app, session, smtp_sink, office):
    boss, peer, work = office["boss"], office["peer"], office["work"]
    plan = make_thread(session, channel=work, author=boss, title="来期の予算", body="案です")
    for body in ("締切はいつですか？", "資料は共有フォルダです", "@boss 金額はこれでいいですか？"):
        threads.reply(session, author=peer, thread=plan.thread, body=body, via=Via.WEB)
    report = make_thread(
        session, channel=work, author=peer, title="週報", body="@boss 見てください"
    )
    notes = make_thread(session, channel=work, author=peer, title="議事録", body="共有します")
    session.commit()
    text, html = _digest(app, session, smtp_sink, BOSS)
    # The mention is his most important place: not again as a question, nor in the channel.
    # His thread is one item there, its latest post for him, counting the question before it.
    for said in ("金額はこれでいいですか", "見てください"):
        assert text.count(said) == 1 and html.count(said) == 1, said
    assert "締切はいつですか" not in text and "締切はいつですか" not in html
    needs = _part(text, "Needs you")
    assert needs.count(f"[#{plan.thread_id}]") == 1
    assert "花子 mentioned you (1 more in this thread): @部長 金額はこれでいいですか？" in needs
    assert "花子 mentioned you: @部長 見てください" in needs
    # The channel still counts his thread's posts and quotes the one not shown above; a thread
    # whose only news is above is not listed again.
    section = _part(text, "仕事")
    assert f"[#{plan.thread_id}] 来期の予算" in section
    assert "3 new posts · 花子: 資料は共有フォルダです" in section
    assert f"[#{report.thread_id}]" not in section
    assert f"[#{notes.thread_id}] 議事録" in section
    # Every thread shown is still an item a reply to the digest can answer.
    run = session.scalar(select(DigestRun).where(DigestRun.user_id == boss.id))
    assert {i["thread_id"] for i in run.items["threads"]} == {
        plan.thread_id, report.thread_id, notes.thread_id
    }  # fmt: skip


def test_a_question_that_names_someone_else_is_theirs_not_the_starters(
    app, session, smtp_sink, office
):
    boss, peer, work = office["boss"], office["peer"], office["work"]
    asked = {
        "出張の件": "@takahashi さん、この件はどうなりましたか？",  # 高橋's to answer
        "担当": "@takahashi @boss どちらが行きますか？",  # names the starter too: his
        "宿泊": "宿はどこですか？",  # names nobody: asks the starter
    }
    for title, question in asked.items():
        started = make_thread(session, channel=work, author=boss, title=title, body="よろしく")
        threads.reply(session, author=peer, thread=started.thread, body=question, via=Via.WEB)
    session.commit()
    needs = _part(_digest(app, session, smtp_sink, BOSS)[0], "Needs you")
    assert "この件はどうなりましたか" not in needs
    assert "花子 mentioned you: @高橋 @部長 どちらが行きますか？" in needs
    assert "花子 asked in your thread: 宿はどこですか？" in needs
    assert needs.count("asked in your thread") == 1
    theirs = _part(_digest(app, session, smtp_sink, "takahashi@corp.example")[0], "Needs you")
    assert "花子 mentioned you: @高橋 さん、この件はどうなりましたか？" in theirs


def _announce(session: Any, admin: Any, title: str, body: str) -> Any:
    return announcements.publish(
        session, author=admin, title=title, body=body, ack_required=True, urgent=False
    )


def test_an_announcement_he_acknowledged_is_not_listed_again(app, session, smtp_sink, office):
    boss, peer = office["boss"], office["peer"]
    checkup = _announce(session, office["admin"], "健康診断", "全員受けてください")
    training = _announce(session, office["admin"], "研修", "新人研修に出てください")
    drill = _announce(session, office["admin"], "防災訓練", "10時に集合してください")
    session.commit()
    # He answered two announcement mails with 了解しました; a colleague asks about one.
    for done in (checkup, drill):
        acknowledgements.acknowledge(session, user=boss, announcement=done, via=Via.EMAIL)
    comment = "午後でもいいですか？"
    threads.reply(session, author=peer, thread=session.get(threads.Thread, checkup.thread_id),
                  body=comment, via=Via.WEB)  # fmt: skip
    session.commit()
    text, html = _digest(app, session, smtp_sink, BOSS)
    needs = _part(text, "Needs you")
    assert "健康診断" not in needs
    for seen in ("全員受けてください", "防災訓練", "10時に集合してください"):
        assert seen not in text and seen not in html, seen
    # The one awaiting him is listed once, where he can acknowledge it.
    assert f"[#{training.thread_id}] 研修" in needs and "Acknowledge: <mailto:ack+" in needs
    assert text.count("新人研修に出てください") == 1 and html.count("新人研修に出てください") == 1
    # The comment on the acknowledged one is news in its channel.
    section = _part(text, "お知らせ")
    assert f"[#{checkup.thread_id}] 健康診断" in section and f"花子: {comment}" in section
    assert f"[#{training.thread_id}]" not in section


def test_the_job_reads_acknowledgements_once_a_batch(app, session, smtp_sink, office):
    """Each member's digest asks only for what they have not acknowledged, read for the whole
    batch in one statement (not one a member) when it is built, and once more when queued."""
    checkup = _announce(session, office["admin"], "健康診断", "全員受けてください")
    members = [office["boss"], office["takahashi"]]
    for member in members:
        member.timezone, member.digest_hour = "UTC", 0
        member.working_days = "mon,tue,wed,thu,fri,sat,sun"
    session.commit()
    acknowledgements.acknowledge(session, user=office["boss"], announcement=checkup, via=Via.EMAIL)
    make_thread(session, channel=office["work"], author=office["peer"], title="週報", body="x")
    session.commit()
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "acknowledgement" in statement.lower():
            statements.append(statement)

    event.listen(engine_of(app), "before_cursor_execute", count)
    try:
        assert jobs.send_digests(app) == 2
    finally:
        event.remove(engine_of(app), "before_cursor_execute", count)
    assert len(statements) == 2
    delivery.drain_outbox(app)
    (boss_mail,) = [m for m in to(smtp_sink, BOSS) if "digest" in str(m["List-Id"])]
    (other,) = [m for m in to(smtp_sink, "takahashi@corp.example") if "digest" in str(m["List-Id"])]
    assert "全員受けてください" not in text_of(boss_mail)
    assert "Announcement: please acknowledge: 全員受けてください" in text_of(other)


def test_the_first_line_agrees_with_how_the_digest_is_answered(app, session, smtp_sink, office):
    make_thread(session, channel=office["work"], author=office["peer"], title="週報", body="x")
    session.commit()
    text, html = _digest(app, session, smtp_sink, BOSS)
    first = text.splitlines()[0]
    # Still the line a reply is cut at (a copy of the digest below it is not an answer) ...
    assert REPLY_MARKER.search(first)
    # ... now saying, as the digest's own instructions do, that answers go under the items.
    assert "答えたい項目のすぐ下" in first and "under the item you answer" in first
    assert "write under the item you answer" in text
    assert re.search(r"##-[^<]*under the item you answer", html)
    # Notifications keep their marker as it was.
    assert "項目" not in outbound.REPLY_MARKER


WEEKLY_WORDS = (
    "You will get a weekly digest, plus mail for mentions and for replies in threads you took "
    "part in."
)


def test_choosing_a_weekly_digest_says_mentions_and_replies_still_come(
    app, session, smtp_sink, office, intake
):
    """As notifications.py's rules have it, a digest member still gets mail for mentions and
    replies in threads they took part in: the confirmation says so, wherever it is chosen."""
    boss, peer = office["boss"], office["peer"]
    mine = make_thread(session, channel=office["work"], author=boss, title="出張", body="来週")
    session.commit()
    prefs = outbound.prefs_url(app, boss.id).removeprefix("http://hub.test")
    command = EmailMessage()
    command["From"], command["To"], command["Subject"] = f"部長 <{BOSS}>", "help@hub.test", ""
    command.set_content("digest weekly")
    with smtplib.SMTP("127.0.0.1", intake.port) as client:
        client.send_message(command)
    delivery.drain_outbox(app)
    (answer,) = to(smtp_sink, BOSS)
    assert f"* digest weekly: {WEEKLY_WORDS}" in text_of(answer)
    # And so it is: a reply in his thread is mailed to him at once.
    session.expire_all()
    threads.reply(session, author=peer, thread=mine.thread, body="日程は？", via=Via.WEB)
    session.commit()
    deliver(app)
    assert [m for m in to(smtp_sink, BOSS) if "日程は？" in text_of(m)]
    # The preferences page (the footer link: an email-only member's settings) says it too ...
    page = app.test_client().post(
        prefs,
        data={"delivery": "weekly"},
        headers={"Accept-Language": "en"},
    )
    assert page.status_code == 200 and WEEKLY_WORDS in page.text
    # ... as does a web member's settings page (he accepted the rules: no detour).
    session.expire_all()
    rules.accept_rules(session, session.get(type(peer), peer.id), Via.WEB)
    session.commit()
    client = signed_in(app, "peer@corp.example")
    form = {"name": "花子", "locale": "en", "timezone": "Asia/Tokyo", "digest_hour": "8",
            "working_days": ["mon", "tue", "wed", "thu", "fri"], "work_start": "09:00",
            "work_end": "18:00", "delivery": "weekly"}  # fmt: skip
    done = client.post("/settings", data=form, follow_redirects=True)
    assert "Your settings are saved." in done.text and WEEKLY_WORDS in done.text


def test_the_admin_who_published_an_announcement_is_not_asked_to_acknowledge_it(
    app, session, smtp_sink, office
):
    """They wrote it (announcements.asked leaves them out of "N of M", reminders and the
    banner): their digest does not ask them either; another admin's announcement does."""
    admin = office["admin"]
    admin.email_only, admin.delivery = True, "daily"
    own = _announce(session, admin, "健康診断", "全員受けてください")
    other = make_user(session, email="soumu2@corp.example", name="総務2", admin=True)
    theirs = _announce(session, other, "研修", "新人研修に出てください")
    session.commit()
    needs = _part(_digest(app, session, smtp_sink, "admin@corp.example")[0], "Needs you")
    assert f"[#{own.thread_id}]" not in needs
    assert f"[#{theirs.thread_id}] 研修" in needs
