"""The job table: stable ids, one instance at a time, coalesced; the jobs run."""

from __future__ import annotations

from mailbridge import jobs, scheduler


def test_job_table(app):
    sched = scheduler.build_scheduler(app)
    found = {job.id: job for job in sched.get_jobs()}
    assert set(found) == {
        "hiroba.fan_out", "hiroba.drain_outbox", "hiroba.digests", "hiroba.reminders",
        "hiroba.process_received",
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


def test_scheduler_starts_and_stops(app):
    sched = scheduler.build_scheduler(app)
    sched.start()
    try:
        assert sched.running
    finally:
        sched.shutdown(wait=True)
