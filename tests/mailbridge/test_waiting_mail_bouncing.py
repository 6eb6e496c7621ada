"""Mail that waited in the outbox (a digest, an announcement for the member's working hours)
does not leave once the member's mail has stopped for bouncing, or once they were deactivated:
it would only bounce again. The answers they wait for (a command's answer, "which thread?") still
go, as when they are queued. Through the outbox drain to a real SMTP sink; both databases."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from hub import db
from hub.models import OutboxMessage, User
from mailbridge import delivery, outbound
from tests.factories import make_user
from tests.fixtures_mailout import to

BOSS = "boss@corp.example"


def queue(app: Flask, kind: str) -> None:
    with db.transaction(app) as s:
        boss = s.scalar(select(User).where(User.email == BOSS))
        outbound.queue_mail(app, s, kind=kind, dedupe_key=f"{kind}:1", to=boss, template="help",
                            context={"channels": [], "help_address": "help@hub.test"})  # fmt: skip


def statuses(app: Flask) -> dict[str, tuple[str, str | None]]:
    with db.transaction(app) as s:
        rows = s.execute(select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.last_error))
        return {kind: (status, error) for kind, status, error in rows}


def test_waiting_mail_is_cancelled_once_the_address_bounces(app: Flask, smtp_sink: Any) -> None:
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        make_user(s, email=BOSS, name="部長", email_only=True)
    queue(app, "digest")  # queued while his mail still worked
    queue(app, "command")  # the answer to a command he just mailed
    with db.transaction(app) as s:
        s.scalar(select(User).where(User.email == BOSS)).bouncing = True
    delivery.drain_outbox(app)
    found = statuses(app)
    assert found["digest"] == ("cancelled", "the member no longer takes mail")
    assert found["command"][0] == "sent"
    assert len(to(smtp_sink, BOSS)) == 1


def test_waiting_mail_is_cancelled_once_the_member_is_deactivated(
    app: Flask, smtp_sink: Any
) -> None:
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        make_user(s, email=BOSS, name="部長", email_only=True)
    queue(app, "announcement")
    with db.transaction(app) as s:
        s.scalar(select(User).where(User.email == BOSS)).active = False
    delivery.drain_outbox(app)
    assert statuses(app)["announcement"][0] == "cancelled"
    assert not to(smtp_sink, BOSS)
