"""Several worker processes on one outbox, one of them killed mid-send: every mail arrives, once.

The relay is a real SMTP sink counting deliveries per (Message-ID, recipient). Worker A is killed
with SIGKILL while the relay holds one of its messages before saying 250 (so the relay never took
it) and after A recorded every earlier 250; workers B and C then drain the rest at the same time.
On PostgreSQL they share the rows with FOR UPDATE SKIP LOCKED and the rows A held are free at
once; on SQLite rows are leased, and the ones A held come back when their lease (one second
here) ends.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select

from hub.models import OutboxMessage
from mailbridge import outbound
from tests.conftest import free_port
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import json, sys, time
from sqlalchemy import func, select
from hub import create_app
from hub.db import transaction
from hub.models import OutboxMessage
from mailbridge.delivery import drain_outbox
app = create_app(json.loads(sys.argv[1]))
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    if drain_outbox(app, limit=10):
        continue
    with transaction(app) as s:
        left = s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status.in_(("pending", "sending"))))
    if not left:
        break
    time.sleep(0.2)  # a row a dead worker leased comes back when its lease ends
"""


class CountingRelay:
    """Counts deliveries; holds the trapped message until released, and refuses it (451) if the
    client died meanwhile, as a real MTA does when the connection drops before its 250."""

    def __init__(self) -> None:
        self.count: Counter[tuple[str, str]] = Counter()
        self.trap: str | None = None
        self.trapped = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mid = str(BytesHeaderParser().parsebytes(envelope.content)["Message-ID"]).strip("<>")
        if mid == self.trap and not self.trapped.is_set():
            self.trapped.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            if server.transport is None or server.transport.is_closing():
                return "451 4.3.0 client went away"
        await asyncio.sleep(0.002)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.count[(mid, rcpt)] += 1
        return "250 OK"


def _until_only_the_trap_is_out(relay: CountingRelay, session: Any) -> None:
    """Wait until every mail the relay took is recorded as sent and nothing more is taken."""
    deadline = time.monotonic() + 20
    settled: set[str] | None = None
    while time.monotonic() < deadline:
        with relay.lock:
            taken = {mid for mid, _ in relay.count}
        sent = select(OutboxMessage.message_id).where(OutboxMessage.status == "sent")
        recorded = taken <= set(session.scalars(sent))
        # On SQLite even a read holds the write lock (BEGIN IMMEDIATE): let the worker write.
        session.rollback()
        if recorded and taken == settled:
            return
        settled = taken if recorded else None
        time.sleep(0.1)
    raise AssertionError(f"the worker did not settle while the relay held one mail: {taken}")


def _start(settings: dict[str, Any]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps(settings)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_two_workers_and_a_killed_one_send_each_mail_once(app, session):
    relay = CountingRelay()
    controller = Controller(relay, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        n = 40
        users = [make_user(session, email=f"w{i}@corp.example") for i in range(n)]
        rows = [
            outbound.queue_mail(
                app,
                session,
                kind="test",
                dedupe_key="bulk:1",
                to=u,
                template="login_link",
                context={"link": "http://hub.test/l", "minutes": 15},
            )  # fmt: skip
            for u in users
        ]
        session.commit()
        relay.trap = rows[4].message_id
        expected = {(r.message_id, r.to_addr) for r in rows}
        settings = {
            key: app.config[key]
            for key in ("TESTING", "DATABASE_URL", "SECRET_KEY", "MAIL_DOMAIN", "BASE_URL",
                        "INSTANCE_DIR", "WTF_CSRF_ENABLED", "RATELIMIT_ENABLED")
        }  # fmt: skip
        settings["OUTBOX_LEASE_SECONDS"] = 1
        settings["RELAY_URL"] = f"smtp://127.0.0.1:{controller.port}"
        a = _start(settings)
        assert relay.trapped.wait(60), a.communicate(timeout=5)[0].decode()[-2000:]
        # A has several mails in flight (on PostgreSQL over two relay connections: while the
        # relay holds the trapped one, A goes on with the rest of its batch on the other).
        # Killing A between a 250 and its commit re-sends that mail, the at-least-once window
        # every SMTP sender has; this test is about the trapped one, so A is killed once it has
        # written down every other mail the relay took and waits for the trapped one alone.
        _until_only_the_trap_is_out(relay, session)
        session.rollback()
        a.kill()
        a.communicate(timeout=10)
        time.sleep(0.3)  # the relay sees the connection drop
        relay.release.set()
        b, c = _start(settings), _start(settings)
        for p in (b, c):
            out, _ = p.communicate(timeout=120)
            assert p.returncode == 0, out.decode()[-2000:]
    finally:
        controller.stop()
    assert set(relay.count) == expected
    assert all(v == 1 for v in relay.count.values()), relay.count.most_common(3)
    session.expire_all()
    statuses = Counter(session.scalars(select(OutboxMessage.status)))
    assert statuses == {"sent": n}
