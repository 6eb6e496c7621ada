"""Event fan-out: the handler table, one event per transaction, failures recorded, no repeats."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from hub.models import Event, OutboxMessage
from hub.services import events
from mailbridge import fanout
from tests.factories import make_user


def test_table_names_the_mail_out_kinds():
    for kind in ("thread_created", "post_created", "member_mentioned", "login_link_requested",
                 "member_invited"):  # fmt: skip
        assert callable(fanout.HANDLERS[kind])


def test_events_are_handled_once_and_unknown_kinds_pass(app, session):
    user = make_user(session)
    events.emit(session, "login_link_requested", subject_id=user.id, token="t1")
    events.emit(session, "something_nobody_handles")
    session.commit()
    assert fanout.fan_out(app) >= 2
    assert fanout.fan_out(app) == 0
    assert session.scalar(select(func.count()).select_from(Event).where(
        Event.processed_at.is_(None))) == 0  # fmt: skip
    logins = session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == "login"))  # fmt: skip
    assert logins == 1


def test_a_failing_handler_is_recorded_and_does_not_block(app, session, monkeypatch):
    user = make_user(session)
    events.emit(session, "boom")
    events.emit(session, "login_link_requested", subject_id=user.id, token="t2")
    session.commit()

    def explode(app: Any, session: Any, event: Any) -> None:
        session.add(OutboxMessage(dedupe_key="x", kind="x", to_addr="x", mail_from="",
                                  message_id="x@x", raw=b""))  # fmt: skip
        raise RuntimeError("handler bug")

    monkeypatch.setitem(fanout.HANDLERS, "boom", explode)
    fanout.fan_out(app)
    session.expire_all()
    boom = session.scalar(select(Event).where(Event.kind == "boom"))
    assert boom.processed_at is not None and "handler bug" in boom.data["fanout_error"]
    kinds = set(session.scalars(select(OutboxMessage.kind)))
    assert "x" not in kinds and "login" in kinds
