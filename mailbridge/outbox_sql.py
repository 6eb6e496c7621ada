"""The outbox's statements for draining it: compiled once per run and executed on the driver's
cursor (``Prepared``), and the due rows walked a window of ids at a time (``Due``)."""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, bindparam, func, select, update

from hub.models import OutboxMessage

# Due outbox ids listed per query.
WINDOW = 200

T = cast(Table, OutboxMessage.__table__)
CLAIM_COLUMNS = (
    T.c.id, T.c.user_id, T.c.to_addr, T.c.mail_from, T.c.raw, T.c.subject,
    T.c.dedupe_key, T.c.attempts, T.c.status, T.c.kind,
)  # fmt: skip
_MARK_VALUES: dict[str, Any] = {
    "attempts": bindparam("b_attempts"),
    "claimed_at": bindparam("b_claimed_at"),
    "mail_from": bindparam("b_mail_from"),
    "status": bindparam("b_status"),
    "last_error": bindparam("b_last_error"),
    "sent_at": bindparam("b_sent_at"),
}
# How a delivery went, one prepared statement for every outcome (a retry also moves not_before).
MARK = update(T).where(T.c.id == bindparam("b_id")).values(**_MARK_VALUES)
MARK_RETRY = MARK.values(not_before=bindparam("b_not_before"))
# SQLite's lease: a claimed row is "sending" from claimed_at on; one whose worker died goes back.
TAKE = (
    update(T)
    .where(T.c.id == bindparam("b_id"), T.c.status == "pending")
    .values(status="sending", claimed_at=bindparam("b_claimed_at"))
)
RELEASE = (
    update(T)
    .where(T.c.status == "sending", T.c.claimed_at < bindparam("stale"))
    .values(status="pending")
)


class Prepared:
    """A statement compiled once per run and executed on the driver's cursor: the per-mail path
    skips SQLAlchemy's statement handling (values still go through the column types)."""

    def __init__(self, stmt: Any, dialect: Any) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        self.order = list(compiled.positiontup or []) if compiled.positional else None
        self.procs = {
            name: proc
            for name, bind in compiled.binds.items()
            if (proc := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        fixed = {
            k: b.effective_value
            for k, b in compiled.binds.items()
            if not b.required and not k.startswith("%(")
        }
        self.fixed = self._process(fixed)
        self.names = [c.name for c in getattr(stmt, "selected_columns", ())]

    def _process(self, values: dict[str, Any]) -> dict[str, Any]:
        return {
            k: (self.procs[k](v) if v is not None and k in self.procs else v)
            for k, v in values.items()
        }

    def execute(self, conn: Connection, params: dict[str, Any]) -> Any:
        """Run with ``params``; a SELECT returns its first row (attributes by column name)."""
        values = {**self.fixed, **self._process(params)}
        args = [values[k] for k in self.order] if self.order is not None else values
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self.sql, args)
            if not self.names:
                return None
            found = cursor.fetchone()
        finally:
            cursor.close()
        return (
            None if found is None else SimpleNamespace(**dict(zip(self.names, found, strict=True)))
        )


class Due:
    """The due outbox ids, listed a window at a time, and where in the window the next claim
    looks (both ways of draining walk them alike)."""

    def __init__(self, query: Any) -> None:
        self.query = query
        self.ids: list[int] = []
        self.pos = 0
        self.after = 0

    def used_up(self) -> bool:
        return self.pos >= len(self.ids)

    def refill(self, conn: Connection) -> bool:
        """List the next window (``conn`` in a transaction); tell whether anything is due."""
        self.ids, self.pos = list(conn.execute(self.query, {"after": self.after}).scalars()), 0
        if self.ids:
            self.after = self.ids[-1]
        return bool(self.ids)

    def bounds(self) -> dict[str, int]:
        """The id range the next claim reads."""
        return {"lo": self.ids[self.pos], "hi": self.ids[-1]}

    def took(self, row_id: int) -> None:
        self.pos = bisect_right(self.ids, row_id, self.pos)

    def skip(self) -> None:
        """The rest of the window is taken by other workers: look further."""
        self.pos = len(self.ids)


def window_query(due_at: datetime) -> Select[Any]:
    """The next WINDOW ids due at ``due_at`` after the id ``after``, in order.

    Built once per run: rows that fall due during the run are taken by the next one. Due ids
    are listed a window at a time (one indexed query per WINDOW rows); each claim then locks
    the first still-pending row of the window. So a claim never re-sorts the whole due range,
    whatever the planner believes about the table (a burst of 10,000 rows right after an
    ANALYZE of an empty outbox made PostgreSQL do just that, per row).
    """
    return (
        select(T.c.id)
        .where(T.c.status == "pending", T.c.not_before <= due_at, T.c.id > bindparam("after"))
        .order_by(T.c.id)
        .limit(WINDOW)
    )


def claim_query(due_at: datetime, *, lock: bool) -> Select[Any]:
    """The first row still due in the id range ``lo``..``hi`` (locked, skipping rows other
    workers hold, when ``lock``: PostgreSQL)."""
    # Only the window's id range, through the primary key: ``status || ''`` and ``coalesce``
    # keep ix_outbox_due (and its sort of every due row) out of the plan.
    claim = (
        select(*CLAIM_COLUMNS)
        .where(
            T.c.id.between(bindparam("lo"), bindparam("hi")),
            T.c.status.concat("") == "pending",
            func.coalesce(T.c.not_before, T.c.not_before) <= due_at,
        )
        .order_by(T.c.id)
        .limit(1)
    )
    return claim.with_for_update(skip_locked=True) if lock else claim
