"""The digest job in two steps (built while reading, queued in a short write) and shared out
over worker processes when many digests are due. Real worker processes (spawned), the real
database of the test (SQLite file or PostgreSQL) and a real SMTP sink for the mail."""

from __future__ import annotations

from email import message_from_bytes, policy
from typing import Any

import pytest

from hub import tokens
from hub.db import reading, transaction, utcnow
from hub.models import DigestRun
from hub.services import channels
from mailbridge import addresses, delivery, digest_batch, digest_job, digests, jobs
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import text_of, to


@pytest.fixture
def office(app: Any, session: Any, smtp_sink: Any) -> dict[str, Any]:
    """Five email-only members whose digest is due now; a private channel two of them are in."""
    app.config["RELAY_URL"] = smtp_sink.url
    author = make_user(session, email="author@corp.example", name="花子")
    members = [
        make_user(session, email=f"m{i}@corp.example", name=f"社員{i}", email_only=True)
        for i in range(5)
    ]
    for member in members:
        member.timezone, member.digest_hour = "UTC", 0
        member.working_days = "mon,tue,wed,thu,fri,sat,sun"
    work = make_channel(session, slug="work", name="仕事", purpose="仕事の相談")
    secret = make_channel(session, slug="hr", name="人事", private=True, reason="人事情報")
    for member in (author, members[0], members[3]):
        channels.add_member(session, user=member, channel=secret, actor=None)
    make_thread(session, channel=work, author=author, title="週報", body="今週の報告です")
    make_thread(session, channel=secret, author=author, title="人事異動", body="内示です")
    session.commit()
    return {"members": members, "secret": secret}


def digests_of(smtp_sink: Any, address: str) -> list[Any]:
    return [m for m in to(smtp_sink, address) if "digest" in str(m["List-Id"])]


def test_many_due_digests_are_built_by_worker_processes(app, session, smtp_sink, office, caplog):
    app.config.update(DIGEST_PROCESSES=2, DIGEST_MEMBERS_PER_PROCESS=2)
    assert digest_job.processes(app, 5) == 2
    assert jobs.send_digests(app) == 5
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # no process failed
    assert jobs.send_digests(app) == 0  # one digest per member and period
    delivery.drain_outbox(app)
    keys = tokens.keys_from_config(app.config)
    for i, member in enumerate(office["members"]):
        (mail,) = digests_of(smtp_sink, member.email)
        assert "週報" in text_of(mail)
        # Private channels stay private in every process.
        assert ("人事異動" in text_of(mail)) == (i in (0, 3))
        # Its Reply-To names the member's own DigestRun (answering the digest works).
        dest = addresses.decode(str(mail["Reply-To"]), "hub.test", keys)
        run = session.get(DigestRun, dest.token.target_id)
        assert dest.kind == "digest" and run.user_id == dest.token.user_id == member.id


def test_a_failing_worker_process_leaves_its_members_to_the_job(
    app, session, smtp_sink, office, monkeypatch
):
    # The worker processes cannot open the database: the job builds their members itself.
    bad = dict(digest_job.child_config(app), DATABASE_URL="sqlite:////nonexistent/dir/hub.db")
    monkeypatch.setattr(digest_job, "child_config", lambda _app: bad)
    app.config.update(DIGEST_PROCESSES=2, DIGEST_MEMBERS_PER_PROCESS=2)
    assert jobs.send_digests(app) == 5
    delivery.drain_outbox(app)
    for member in office["members"]:
        assert len(digests_of(smtp_sink, member.email)) == 1


def test_few_due_digests_stay_in_this_process(app):
    app.config.update(DIGEST_PROCESSES=4, DIGEST_MEMBERS_PER_PROCESS=1000)
    assert digest_job.processes(app, 999) == 1
    assert digest_job.processes(app, 2500) == 2
    assert digest_job.processes(app, 10_000) == 4


def test_a_member_who_left_a_private_channel_while_the_digest_was_built(
    app, session, smtp_sink, office
):
    """The digest is built while only reading; when queued, access is read again and the
    digest built anew for a member whose channels changed in between."""
    stays, leaves = office["members"][0], office["members"][3]
    now = utcnow()
    period = digests.due_period(stays, now)
    since = now - digests.span(period)
    activities: dict[Any, Any] = {}
    with reading(app) as s:
        built = digest_batch.build(app, s, [(stays, period, since), (leaves, period, since)],
                                   now, activities)  # fmt: skip
        s.expunge_all()
    assert all(
        "人事異動" in text_of(message_from_bytes(b.row["raw"], policy=policy.default))
        for b in built
    )
    channels.leave(session, user=session.merge(leaves), channel=office["secret"])
    session.commit()
    with transaction(app) as s:
        rows = digest_batch.queue(app, s, built, now, activities)
        digest_batch.write(s, rows)
    assert len(rows) == 2
    delivery.drain_outbox(app)
    (kept,) = digests_of(smtp_sink, stays.email)
    (left,) = digests_of(smtp_sink, leaves.email)
    assert "人事異動" in text_of(kept)
    assert "人事異動" not in text_of(left) and "週報" in text_of(left)
