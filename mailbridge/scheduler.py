"""The one job table: event fan-out, outbox drain, digests, reminders, inbound catch-up, and
mail retention.

APScheduler 3.x. Every job has a stable id, replace_existing, max_instances=1 and coalesce, so a
slow run is never doubled and missed runs collapse into one.
"""

from __future__ import annotations

from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from mailbridge import jobs

# (id, function, trigger, trigger arguments); the interval jobs use SCHEDULER_INTERVAL_SECONDS.
JOBS: tuple[tuple[str, Any, str, dict[str, Any]], ...] = (
    ("hiroba.fan_out", jobs.fan_out_events, "interval", {"seconds": None}),
    ("hiroba.drain_outbox", jobs.drain_outbox, "interval", {"seconds": None}),
    ("hiroba.digests", jobs.send_digests, "interval", {"minutes": 5}),
    ("hiroba.reminders", jobs.send_reminders, "interval", {"minutes": 30}),
    ("hiroba.process_received", jobs.process_received, "interval", {"minutes": 1}),
    # Daily at 18:30 UTC, 03:30 in Japan: the quietest hour of a Japanese company.
    ("hiroba.prune_mail", jobs.prune_mail, "cron", {"hour": 18, "minute": 30}),
)


def build_scheduler(app: Flask) -> BackgroundScheduler:
    """A scheduler with every job registered (not started)."""
    sched = BackgroundScheduler(timezone="UTC")
    every = int(app.config.get("SCHEDULER_INTERVAL_SECONDS", 5))
    for job_id, func, trigger, kwargs in JOBS:
        args = {k: (every if v is None else v) for k, v in kwargs.items()}
        sched.add_job(
            func,
            trigger,
            args=[app],
            id=job_id,
            name=job_id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=60,
            **args,
        )
    return sched
