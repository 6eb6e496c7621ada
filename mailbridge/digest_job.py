"""The digest job: whose digests are due now, then built and queued (``digest_batch``), in this
process or, when many are due, shared out over worker processes.

Rendering is most of a digest's cost and it is Python: one process renders on one core. When at
least DIGEST_MEMBERS_PER_PROCESS digests are due for each of two or more processes, the due
members are cut into runs (in member order) and each run goes to a worker process of its own
(DIGEST_PROCESSES; 0 means one per core, at most four), with its own app and database
connections. Each builds while only reading and writes in short transactions, so on SQLite the
processes take turns only for the writes. The DigestRun claim keeps one digest per member and
period whatever happens; a process that fails leaves its members to this one.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from hub import create_app
from hub.db import engine_of, transaction
from hub.models import Delivery, DigestRun, User
from mailbridge import digest_batch, digests
from mailbridge.digest_batch import Due

log = logging.getLogger(__name__)


def send_due(app: Flask, now: datetime) -> int:
    """Build and queue the digests that are due at ``now``; return how many were queued."""
    due = _due(app, now)
    procs = processes(app, len(due))
    if procs > 1:
        return _share(app, due, now, procs)
    return digest_batch.queue_all(app, due, now)


def _due(app: Flask, now: datetime) -> Due:
    """The members whose digest is due at ``now``, in member order: (member, period, since).

    The job runs every few minutes and DigestRun rows pile up (one a member a day): it reads
    only the runs of the periods due now (indexed) and, for the members still without theirs,
    when their last digest ended; never the whole history.
    """
    with transaction(app) as session:
        users = list(
            session.scalars(
                select(User)
                .where(
                    User.active.is_(True),
                    User.bouncing.is_(False),
                    (User.delivery.in_([Delivery.DAILY, Delivery.WEEKLY]))
                    | (User.delivery.is_(None) & User.email_only.is_(True)),
                )
                .order_by(User.id)
            )
        )
        wanted = [(u, p) for u in users if (p := digests.due_period(u, now))]
        periods = sorted({p for _u, p in wanted})
        done = set(
            session.execute(
                select(DigestRun.user_id, DigestRun.period).where(DigestRun.period.in_(periods))
            ).all()
        )
        due = [(u, p) for u, p in wanted if (u.id, p) not in done]
        last: dict[int, datetime] = {}
        ids = [u.id for u, _p in due]
        for start in range(0, len(ids), _CHUNK):
            last.update(
                (uid, until)
                for uid, until in session.execute(
                    select(DigestRun.user_id, func.max(DigestRun.until))
                    .where(DigestRun.user_id.in_(ids[start : start + _CHUNK]))
                    .group_by(DigestRun.user_id)
                )
            )
    return [(u, p, last.get(u.id) or now - digests.span(p)) for u, p in due]


# Member ids per statement (SQLite takes at most 32766 parameters).
_CHUNK = 5000


# --- worker processes ------------------------------------------------------------------------


def processes(app: Flask, due: int) -> int:
    """How many processes should build ``due`` digests: 1 unless each gets enough to do."""
    if engine_of(app).url.database in (None, "", ":memory:"):
        return 1  # an in-memory database lives in this process only
    wanted = int(app.config["DIGEST_PROCESSES"]) or min(os.cpu_count() or 1, 4)
    return max(1, min(wanted, due // max(1, int(app.config["DIGEST_MEMBERS_PER_PROCESS"]))))


def _share(app: Flask, due: Due, now: datetime, procs: int) -> int:
    """Cut ``due`` into ``procs`` runs of members and build each in a worker process."""
    size = -(-len(due) // procs)
    runs = [due[start : start + size] for start in range(0, len(due), size)]
    queued = 0
    # Spawned, not forked: the hub's threads (web server, scheduler) must not be copied mid-work.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        len(runs), mp_context=context, initializer=_start, initargs=(child_config(app),)
    ) as pool:
        started = [
            (run, pool.submit(_build_run, [(u.id, p, s) for u, p, s in run], now)) for run in runs
        ]
        for run, future in started:
            try:
                queued += future.result()
            except Exception:
                log.exception("a digest process failed: its %d members are built here", len(run))
                queued += digest_batch.queue_all(app, run, now)
    return queued


def child_config(app: Flask) -> dict[str, Any]:
    """The app's settings a worker process builds its own app from (those that pickle)."""
    config = {}
    for key, value in app.config.items():
        try:
            pickle.dumps(value)
        except Exception:  # noqa: BLE001, S112 - a setting only this process can hold
            continue
        config[key] = value
    return config


_APP: Flask | None = None


def _start(config: dict[str, Any]) -> None:
    """A worker process's start: its own app (and database connections)."""
    global _APP  # noqa: PLW0603 - one app per worker process
    _APP = create_app(config)


def _build_run(items: list[tuple[int, str, datetime]], now: datetime) -> int:
    """In a worker process: build and queue the digests of these (member id, period, since)."""
    assert _APP is not None, "the worker process has no app"
    with transaction(_APP) as session:
        users = {
            u.id: u
            for u in session.scalars(select(User).where(User.id.in_([i for i, _p, _s in items])))
        }
    due = [(users[uid], period, since) for uid, period, since in items if uid in users]
    # No writer thread here: the processes overlap one another, and a second thread would
    # only take the GIL from the one holding SQLite's write lock, making the others wait.
    return digest_batch.queue_all(_APP, due, now, overlap=False)
