"""Benchmark the SMTP intake: N replies over K concurrent SMTP clients, against a no-op sink.

Runs `hiroba smtpd` (a real process) on a fresh SQLite database, and on PostgreSQL too when
HIROBA_TEST_POSTGRES_URL is set (in a scratch database of its own, `hiroba_bench_<pid>`, created
next to the test database and dropped at the end, as bench/fanout.py does: the test database
itself is never touched),
and a no-op aiosmtpd sink process in the same run. Every message is a reply to a real thread by
a real member. Prints messages/s for both, their ratio, and the latency from the end of DATA to
the post being visible in the database (p50/p99). Bounded: at most N messages and MAX_SECONDS
each.

With ``--floor`` it also measures a floor for any intake that keeps its promise ("250 only
after the raw message is durably stored"): the same aiosmtpd, whose handler only commits the
raw message (one INSERT) on one thread, on the same database; the gap between it and the sink
is storage, the gap between hiroba and it is the pipeline.

    .venv/bin/python bench/inbound.py [N] [K] [--rounds R] [--only sqlite|postgres] [--floor]
Target: ratio >= 0.5, p99 < 200 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fanout import scratch_db  # noqa: E402  (bench/ is the script's folder)

from hub import create_app, db, search, tokens  # noqa: E402
from hub.db import Base  # noqa: E402
from mailbridge import addresses  # noqa: E402
from tests.factories import make_channel, make_thread, make_user  # noqa: E402

MAX_SECONDS = 120
DOMAIN = "hub.test"
SECRET = "bench-secret-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("server exited early") from None
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def prepare(url: str, instance: Path, members: int) -> list[tuple[str, str]]:
    """Schema, members and one thread each; return (sender, reply address) per member."""
    engine = db.make_engine(url)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        search.drop(conn)
        Base.metadata.create_all(conn)
        search.install(conn)
    engine.dispose()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "MAIL_DOMAIN": DOMAIN,
                      "INSTANCE_DIR": str(instance), "BASE_URL": "http://hub.test"})  # fmt: skip
    pairs = []
    keys = tokens.keys_from_config(app.config)
    with db.transaction(app) as session:
        channel = make_channel(session, slug="general", name="General")
        for n in range(members):
            user = make_user(session, email=f"m{n}@corp.example", name=f"Member {n}")
            thread = make_thread(session, channel=channel, author=user, title=f"Thread {n}").thread
            pairs.append((user.email, addresses.encode("reply", user.id, thread.id, DOMAIN, keys)))
    db.engine_of(app).dispose()
    return pairs


def message(sender: str, to: str, mid: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, "Re: 来期の予算"
    msg["Message-ID"] = f"<{mid}>"
    msg.set_content("承知しました。来週までに確認します。\n\n> 案です\n")
    return msg.as_bytes()


def visible_checker(url: str) -> Callable[[str], bool]:
    """A read-only check that a post with this Message-ID exists (one query)."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        return lambda mid: (
            conn.execute("SELECT 1 FROM post WHERE message_id = ?", (mid,)).fetchone() is not None
        )
    import psycopg

    pg = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    return lambda mid: (
        pg.execute("SELECT 1 FROM post WHERE message_id = %s", (mid,)).fetchone() is not None
    )


def blast(port: int, n: int, k: int, pairs: list[tuple[str, str]], tag: str,
          url: str | None) -> tuple[float, list[float], int]:  # fmt: skip
    """Send n messages over k connections; return (seconds, latencies, failures)."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + MAX_SECONDS

    def client(c: int) -> None:
        check = visible_checker(url) if url else None
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            s.ehlo("bench.example")
            for i in range(c, n, k):
                if time.monotonic() > deadline:
                    return
                sender, to = pairs[i % len(pairs)]
                mid = f"{tag}-{i}@bench.example"
                raw = message(sender, to, mid)
                s.mail(sender)
                s.rcpt(to)
                t0 = time.perf_counter()
                code, _ = s.data(raw)
                ok = code == 250 and (check is None or check(mid))
                t1 = time.perf_counter()
                with lock:
                    if ok:
                        latencies.append(t1 - t0)
                    else:
                        failures[0] += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(k)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, failures[0]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] * 1000 if values else float("nan")


@contextlib.contextmanager
def serving(cmd: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[None]:
    """Run a server process (in a session of its own) until the block ends, once it listens."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        wait_port(port, proc)
        yield
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def run_hiroba(url: str, n: int, k: int, tmp: Path, tag: str) -> tuple[float, float, float, int]:
    pairs = prepare(url, tmp / "instance", k)
    port = free_port()
    env = dict(os.environ, HIROBA_DATABASE_URL=url, HIROBA_SECRET_KEY=SECRET,
               HIROBA_MAIL_DOMAIN=DOMAIN, HIROBA_SMTP_PORT=str(port),
               HIROBA_INSTANCE_DIR=str(tmp / "instance"))  # fmt: skip
    hiroba = shutil.which("hiroba", path=str(ROOT / ".venv/bin")) or "hiroba"
    with serving([hiroba, "smtpd"], port, env):
        secs, lat, failed = blast(port, n, k, pairs, tag, url)
    return len(lat) / secs, pct(lat, 0.5), pct(lat, 0.99), failed


def serve_floor(url: str, port: int) -> None:
    """The floor server (a child process): aiosmtpd whose DATA only commits the raw message."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from aiosmtpd.controller import Controller

    from mailbridge import ingest

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "MAIL_DOMAIN": DOMAIN,
                      "INSTANCE_DIR": tempfile.gettempdir()})  # fmt: skip
    pool = ThreadPoolExecutor(1)

    class StoreOnly:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            raw, rcpts = envelope.content, list(envelope.rcpt_tos)  # type: ignore[attr-defined]
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(pool, ingest.store, app, raw, rcpts, "smtp")
            return "250 OK"

    controller = Controller(StoreOnly(), hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()


def run_floor(url: str, n: int, k: int, tmp: Path) -> float:
    prepare(url, tmp / "instance", 1)
    port = free_port()
    with serving([sys.executable, __file__, "--serve-floor", url, str(port)], port):
        pairs = [(f"m{i}@corp.example", f"general@{DOMAIN}") for i in range(k)]
        secs, lat, _ = blast(port, n, k, pairs, "floor", None)
    return len(lat) / secs


def run_sink(n: int, k: int) -> float:
    port = free_port()
    cmd = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
           "-c", "aiosmtpd.handlers.Sink"]  # fmt: skip
    with serving(cmd, port):
        pairs = [(f"m{i}@corp.example", f"general{i}@hub.test") for i in range(k)]
        secs, lat, _ = blast(port, n, k, pairs, "sink", None)
    return len(lat) / secs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=400, help="messages per run (400)")
    parser.add_argument("k", nargs="?", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the whole run R times")
    parser.add_argument("--only", choices=("sqlite", "postgres"), help="one database only")
    parser.add_argument("--floor", action="store_true", help="also measure the store-only floor")
    parser.add_argument("--serve-floor", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        serve_floor(args.serve_floor[0], int(args.serve_floor[1]))
        return
    n, k = args.n, args.k
    pg_base = os.environ.get("HIROBA_TEST_POSTGRES_URL") if args.only != "sqlite" else None
    for _ in range(args.rounds):
        tmp = Path(tempfile.mkdtemp(prefix="hiroba-bench-"))
        try:
            sink = run_sink(n, k)
            print(f"no-op aiosmtpd sink: {sink:8.1f} msg/s  ({n} messages, {k} clients)")
            if args.only != "postgres":
                if args.floor:
                    floor(run_floor(f"sqlite:///{tmp / 'floor.db'}", n, k, tmp), sink, "SQLite")
                report("SQLite", run_hiroba(f"sqlite:///{tmp / 'bench.db'}", n, k, tmp, "sqlite"),
                       sink)  # fmt: skip
            if pg_base:
                if args.floor:
                    with scratch_db("postgres", tmp, pg_base) as url:
                        floor(run_floor(url, n, k, tmp), sink, "PostgreSQL")
                with scratch_db("postgres", tmp, pg_base) as url:
                    report("PostgreSQL", run_hiroba(url, n, k, tmp, "postgres"), sink)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def floor(rate: float, sink: float, name: str) -> None:
    print(f"store-only floor ({name}): {rate:8.1f} msg/s  ratio {rate / sink:.2f}", flush=True)


def report(name: str, result: tuple[float, float, float, int], sink: float) -> None:
    rate, p50, p99, failed = result
    print(
        f"hiroba smtpd ({name}): {rate:8.1f} msg/s  ratio {rate / sink:.2f}  "
        f"end of DATA -> post visible p50 {p50:.0f} ms p99 {p99:.0f} ms  failed {failed}",
        flush=True,
    )


if __name__ == "__main__":
    main()
