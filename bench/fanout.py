"""Benchmark (prints, never asserts): one post to N email members, delivered to a local SMTP sink,
against a bare smtplib loop sending N equal-size mails to the same sink in the same run.

Ours = the worker's fan-out job (recipients, per-member rendering, outbox rows) + its outbox job
(claim, send over one reused connection, mark sent), from the post's commit to the last 250.
Target ratio >= 0.7.

    .venv/bin/python bench/fanout.py [--members 10000] [--db sqlite|postgres] [--rounds R]

``--db postgres`` runs in a scratch database of its own (``hiroba_bench_<pid>``, created on the
server of HIROBA_TEST_POSTGRES_URL, or --pg-base, and dropped at the end): the shared test
database is never touched.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import resource
import smtplib
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


BODY = "来期の予算案を共有します。\n\n- 売上: 12億円\n- 費用: 10億円\n\nご意見ください。"


def _sink(port: int, ready: mp.synchronize.Event, stop: mp.synchronize.Event) -> None:
    """A do-nothing SMTP sink in its own process (so it does not share our GIL)."""
    from aiosmtpd.controller import Controller

    class Null:
        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN202
            return "250 OK"

    controller = Controller(Null(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def scratch_db(kind: str, tmp: Path, pg_base: str = "") -> Iterator[str]:
    """A fresh database for one run: a SQLite file in ``tmp``, or a PostgreSQL database of its
    own next to ``pg_base`` (dropped afterwards; never the shared test database itself)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    import psycopg

    base = pg_base or os.environ.get("HIROBA_TEST_POSTGRES_URL") or PG_BASE
    name = f"hiroba_bench_{os.getpid()}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _setup(app, n: int):  # noqa: ANN001, ANN202
    from hub.db import transaction
    from hub.models import Channel, Delivery, Membership, User

    with transaction(app) as session:
        channel = Channel(slug="all", name="全社", purpose="全社への連絡と相談")
        author = User(email="author@corp.example", name="山田 太郎")
        session.add_all([channel, author])
        session.flush()
        users = [
            User(
                email=f"m{i}@corp.example",
                name=f"社員 {i}",
                email_only=True,
                delivery=Delivery.EVERY_POST,
                working_days="mon,tue,wed,thu,fri,sat,sun",
                work_start=0,
                work_end=1440,
            )  # fmt: skip
            for i in range(n)
        ]
        session.add_all(users)
        session.flush()
        session.add_all(Membership(user_id=u.id, channel_id=channel.id) for u in users)
        return channel.id, author.id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-base", default="", help="server URL for the scratch database")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    for _ in range(args.rounds):
        tmp = Path(tempfile.mkdtemp(prefix="hiroba-bench-"))
        with scratch_db(args.db, tmp, args.pg_base) as url:
            run(url, tmp, args.members)


def run(url: str, tmp: Path, n: int) -> None:
    """One fan-out + drain of one post to ``n`` members, then the bare loop."""

    from hub import create_app, db, search
    from hub.db import Base, transaction
    from hub.models import Channel, OutboxMessage, User, Via
    from hub.services import threads
    from mailbridge import jobs

    engine = db.make_engine(url)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        Base.metadata.create_all(conn)
        search.install(conn)
    engine.dispose()
    port = _free_port()
    ready, stop = mp.Event(), mp.Event()
    sink = mp.Process(target=_sink, args=(port, ready, stop), daemon=True)
    sink.start()
    ready.wait(10)
    app = create_app({
        "DATABASE_URL": url, "SECRET_KEY": "bench", "MAIL_DOMAIN": "hub.test",
        "BASE_URL": "https://hub.test", "INSTANCE_DIR": str(tmp), "RELAY_URL":
        f"smtp://127.0.0.1:{port}",
    })  # fmt: skip
    try:
        channel_id, author_id = _setup(app, n)
        print(f"members: {n}  database: {url.split(':')[0]}")

        t0 = time.perf_counter()
        with transaction(app) as session:
            threads.start_thread(
                session, author=session.get(User, author_id),
                channel=session.get(Channel, channel_id), title="来期の予算について",
                body=BODY,
                via=Via.WEB,
            )  # fmt: skip
        t_post = time.perf_counter()
        # The worker's own two jobs, as `hiroba worker` runs them.
        jobs.fan_out_events(app)
        t_fan = time.perf_counter()
        sent = jobs.drain_outbox(app)
        t1 = time.perf_counter()
        ours = sent / (t1 - t0)
        rss_ours = _rss_mb()
        with transaction(app) as session:
            sample = session.scalars(select_posts(OutboxMessage)).first()
            raw, mail_from = sample.raw, sample.mail_from
        print(f"ours: {sent} mails in {t1 - t0:.2f} s = {ours:.0f} mails/s "
              f"(post {t_post - t0:.2f} s, fan-out {t_fan - t_post:.2f} s, "
              f"drain {t1 - t_fan:.2f} s); mail size {len(raw)} bytes; "
              f"peak RSS {rss_ours:.0f} MB")  # fmt: skip

        client = smtplib.SMTP("127.0.0.1", port)
        b0 = time.perf_counter()
        for i in range(n):
            client.sendmail(mail_from, [f"m{i}@corp.example"], raw)
        b1 = time.perf_counter()
        client.quit()
        bare = n / (b1 - b0)
        print(f"bare smtplib loop: {n} mails in {b1 - b0:.2f} s = {bare:.0f} mails/s; "
              f"peak RSS {_rss_mb():.0f} MB")  # fmt: skip
        print(f"ratio ours/bare: {ours / bare:.2f} (target >= 0.7)")
    finally:
        stop.set()
        sink.join(5)
        db.engine_of(app).dispose()


def select_posts(model):  # noqa: ANN001, ANN201
    from sqlalchemy import select

    return select(model).where(model.kind == "post").limit(1)


if __name__ == "__main__":
    main()
