"""The job table: stable ids, one instance at a time, coalesced; the jobs run."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from hub.db import utcnow
from hub.models import Event, OutboxMessage
from hub.services import events
from mailbridge import delivery, jobs, outbound, scheduler
from tests.factories import make_user


def test_job_table(app):
    sched = scheduler.build_scheduler(app)
    found = {job.id: job for job in sched.get_jobs()}
    assert set(found) == {
        "hiroba.fan_out", "hiroba.drain_outbox", "hiroba.digests", "hiroba.reminders",
        "hiroba.process_received", "hiroba.prune_mail",
    }  # fmt: skip
    for job in found.values():
        assert job.max_instances == 1 and job.coalesce is True
        assert job.args == (app,)
    # Building again replaces, never duplicates.
    again = scheduler.build_scheduler(app)
    assert len(again.get_jobs()) == len(found)


def test_jobs_run_on_an_empty_hub(app):
    assert jobs.fan_out_events(app) == 0
    assert jobs.drain_outbox(app) == 0
    assert jobs.send_digests(app) == 0
    assert jobs.send_reminders(app) == 0
    assert jobs.process_received(app) == 0
    assert jobs.prune_mail(app) == 0


def test_scheduler_starts_and_stops(app):
    sched = scheduler.build_scheduler(app)
    sched.start()
    try:
        assert sched.running
    finally:
        sched.shutdown(wait=True)


def _queue(app: Any, session: Any, n: int, tag: str = "q", **kw: Any) -> list[Any]:
    users = [make_user(session, email=f"{tag}{i}@corp.example") for i in range(n)]
    rows = [
        outbound.queue_mail(
            app,
            session,
            kind="test",
            dedupe_key="batch:1",
            to=u,
            template="login_link",
            context={"link": "http://hub.test/l", "minutes": 15},
            **kw,
        )  # fmt: skip
        for u in users
    ]
    session.commit()
    return rows


def test_one_run_of_the_outbox_job_sends_everything_due_not_one_batch(app, session, smtp_sink):
    # The job used to send 1,000 mails a run, one run per interval: a post to 10,000 members
    # took ten intervals. Now a run goes on, a batch at a time, until nothing is due.
    app.config["RELAY_URL"] = smtp_sink.url
    _queue(app, session, 5)
    (later,) = _queue(app, session, 1, "later", not_before=utcnow() + timedelta(hours=1))
    assert delivery.drain_due(app, batch=2) == 5
    assert len(smtp_sink.messages) == 5
    session.expire_all()
    assert session.get(OutboxMessage, later.id).status == "pending"  # not due yet


def test_the_outbox_job_leaves_rows_another_worker_holds_and_returns(app, session, smtp_sink):
    app.config["RELAY_URL"] = smtp_sink.url
    held, free = _queue(app, session, 2)
    if session.get_bind().dialect.name == "postgresql":
        # Another worker has the row locked mid-send: this run must not wait or spin on it.
        other = app.extensions["hiroba.sessionmaker"]()
        other.execute(
            select(OutboxMessage).where(OutboxMessage.id == held.id).with_for_update()
        ).all()
    else:
        # SQLite: another worker leased it (``sending``).
        held.status, held.claimed_at, other = "sending", utcnow(), None
        session.commit()
    try:
        done = threading.Event()
        runner = threading.Thread(target=lambda: (delivery.drain_due(app), done.set()))
        runner.start()
        runner.join(20)
        assert done.is_set(), "the job kept waiting for a row another worker holds"
    finally:
        if other is not None:
            other.rollback()
            other.close()
    assert [m["rcpt_tos"] for m in smtp_sink.messages] == [[free.to_addr]]


def test_one_run_of_the_fan_out_job_handles_every_pending_event(app, session, monkeypatch):
    monkeypatch.setattr(jobs, "FAN_OUT_BATCH", 2)
    for _ in range(5):
        events.emit(session, "member_invited", subject_id=make_user(session).id)
    session.commit()
    pending = select(func.count()).where(Event.processed_at.is_(None))
    waiting = session.scalar(pending)
    session.commit()
    assert waiting >= 5 and jobs.fan_out_events(app) == waiting
    assert session.scalar(pending) == 0
