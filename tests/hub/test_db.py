"""The database layer: read-only transactions do not queue behind a writer."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from hub.db import reading, transaction
from hub.models import User
from tests.factories import make_user


def test_reading_sees_committed_rows_while_a_writer_holds_the_lock(app: Flask, session: Any):
    """A writer is mid-transaction (on SQLite it holds the write lock): a reading session in
    another thread answers at once with what is committed, where a ``transaction`` would wait
    (up to the 30 s busy timeout, then fail)."""
    make_user(session, email="committed@corp.example")
    session.commit()
    session.close()
    answer: list[int] = []
    with transaction(app) as writer:
        writer.add(User(email="pending@corp.example", name="Pending"))
        writer.flush()

        def read() -> None:
            with reading(app) as reader:
                answer.append(reader.scalar(select(func.count(User.id))) or 0)

        t = threading.Thread(target=read)
        t.start()
        t.join(10)
        assert not t.is_alive(), "the reading session waited for the writer"
    assert answer == [1]
    with reading(app) as reader:
        assert reader.scalar(select(func.count(User.id))) == 2
