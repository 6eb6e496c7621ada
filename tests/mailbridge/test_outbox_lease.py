"""The outbox never keeps the database locked while a relay answers, and a half-sent mail comes
back: on SQLite a row is leased (``sending``) while the relay takes it, and a lease a dead worker
left behind ends after OUTBOX_LEASE_SECONDS. PostgreSQL locks the row instead (its other writers
never wait on it), so the same checks hold there too. Mails go out over several relay
connections, so one the relay holds on to holds up no other."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta
from email.parser import BytesHeaderParser
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select

from hub.db import transaction, utcnow
from hub.models import OutboxMessage, User
from mailbridge import delivery, outbound
from tests.conftest import free_port
from tests.factories import make_user


class SlowRelay:
    """Holds every message until released, then takes it."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.release = threading.Event()
        self.got: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.holding.set()
        while not self.release.is_set():
            await asyncio.sleep(0.02)
        self.got.extend(envelope.rcpt_tos)
        return "250 OK"


def _queue(app: Any, session: Any, user: User, key: str) -> OutboxMessage:
    row = outbound.queue_mail(
        app, session, kind="test", dedupe_key=key, to=user, template="login_link",
        context={"link": "http://hub.test/x", "minutes": 15},
    )  # fmt: skip
    session.commit()
    return row


def test_other_writers_go_on_while_the_relay_takes_its_time(app, session):
    relay = SlowRelay()
    controller = Controller(relay, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config["RELAY_URL"] = f"smtp://127.0.0.1:{controller.port}"
    try:
        _queue(app, session, make_user(session, email="a@corp.example"), "t:1")
        session.close()
        drain = threading.Thread(target=delivery.drain_outbox, args=(app,))
        drain.start()
        assert relay.holding.wait(30)
        # The relay has the mail and has not answered: a post on the web (any write) goes on.
        wrote = threading.Event()

        def write() -> None:
            with transaction(app) as s:
                s.add(User(email="new@corp.example", name="New"))
            wrote.set()

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(10)
        assert wrote.is_set(), "a write waited for the relay"
        relay.release.set()
        drain.join(30)
    finally:
        relay.release.set()
        controller.stop()
    assert relay.got == ["a@corp.example"]
    row = session.scalar(select(OutboxMessage))
    assert row.status == "sent"


def test_a_lease_a_dead_worker_left_ends_and_the_mail_goes(app, session, smtp_sink):
    app.config["RELAY_URL"] = smtp_sink.url
    app.config["OUTBOX_LEASE_SECONDS"] = 600
    stale = _queue(app, session, make_user(session, email="stale@corp.example"), "t:1")
    fresh = _queue(app, session, make_user(session, email="fresh@corp.example"), "t:2")
    # Two rows a worker took and then died on: one 11 minutes ago, one just now.
    stale.status, stale.claimed_at = "sending", utcnow() - timedelta(minutes=11)
    fresh.status, fresh.claimed_at = "sending", utcnow() - timedelta(seconds=5)
    session.commit()
    assert delivery.drain_outbox(app) == 1
    assert [m["rcpt_tos"] for m in smtp_sink.messages] == [["stale@corp.example"]]
    session.expire_all()
    statuses = [session.get(OutboxMessage, r.id).status for r in (stale, fresh)]
    assert statuses == ["sent", "sending"]


class TarpitRelay:
    """Holds the first mail to one recipient (a slow receiving server, say) until released;
    takes every other mail at once. Records (recipient, Message-ID) in the order taken."""

    def __init__(self, slow: str) -> None:
        self.slow = slow
        self.holding = threading.Event()
        self.release = threading.Event()
        self.got: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.slow in envelope.rcpt_tos and not self.holding.is_set():
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
        mid = str(BytesHeaderParser().parsebytes(envelope.content)["Message-ID"])
        self.got.extend((rcpt, mid) for rcpt in envelope.rcpt_tos)
        return "250 OK"

    def to(self, rcpt: str) -> list[str]:
        return [mid for who, mid in self.got if who == rcpt]


def test_a_mail_the_relay_holds_on_to_holds_up_no_other_member(app, session):
    relay = TarpitRelay("slow@corp.example")
    controller = Controller(relay, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config["RELAY_URL"] = f"smtp://127.0.0.1:{controller.port}"
    try:
        slow = make_user(session, email="slow@corp.example")
        first = _queue(app, session, slow, "t:first")
        others = [f"m{i}@corp.example" for i in range(6)]
        for a in others:
            _queue(app, session, make_user(session, email=a), f"t:{a}")
        second = _queue(app, session, slow, "t:second")
        ids = [f"<{first.message_id}>", f"<{second.message_id}>"]
        session.close()
        drain = threading.Thread(target=delivery.drain_outbox, args=(app,))
        drain.start()
        assert relay.holding.wait(30)
        # While the relay holds the first mail to slow@, everyone else's goes out; slow@'s
        # second mail waits behind their first (a member's mails keep their order).
        deadline = time.monotonic() + 15
        while len(relay.got) < len(others) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        assert sorted(who for who, _ in relay.got) == others
        relay.release.set()
        drain.join(30)
    finally:
        relay.release.set()
        controller.stop()
    assert relay.to("slow@corp.example") == ids
    session.expire_all()
    assert {row.status for row in session.scalars(select(OutboxMessage))} == {"sent"}
