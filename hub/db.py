"""Database engine, sessions and the declarative base shared by the web app and the mail bridge."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from hub import search

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use hub.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints the same way."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[dict[str, Any]]: JSONType,
    }


# Execution option of the connections ``reading`` uses (a plain BEGIN on SQLite).
READ_ONLY = "hiroba_read_only"


def database_url(app: Flask) -> str:
    """Return the configured database URL, defaulting to SQLite in the instance folder."""
    url = app.config.get("DATABASE_URL") or ""
    if not url:
        folder = Path(app.config["INSTANCE_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder.resolve() / 'hiroba.db'}"
    return url


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    if url.startswith("sqlite"):
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself so transactions behave (pysqlite quirk).
            dbapi_conn.isolation_level = None
            # The search index's triggers and short-term search fold text with it (hub.search).
            dbapi_conn.create_function(search.SQLITE_FOLD, 1, search.fold, deterministic=True)
            cur = dbapi_conn.cursor()
            # A new file gives pages freed by mail retention back to the file system (the
            # mode must be chosen before WAL and the first table; an older file keeps its own
            # mode and shrinks only after VACUUM, see README). Only on an empty file: setting
            # it on a used one waits for the write lock, which a reader must never do.
            if cur.execute("PRAGMA page_count").fetchone()[0] == 0:
                cur.execute("PRAGMA auto_vacuum=INCREMENTAL")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking.
            # A read-only transaction (``reading``) begins deferred: in WAL it never waits.
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def init_app(app: Flask) -> None:
    """Attach an engine and a session factory to ``app`` and close request sessions on teardown."""
    engine = make_engine(database_url(app))
    app.extensions["hiroba.engine"] = engine
    app.extensions["hiroba.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.extensions["hiroba.readmaker"] = sessionmaker(
        engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False, autoflush=False
    )
    app.teardown_appcontext(_close_session)


def engine_of(app: Flask) -> Engine:
    """Return the engine of ``app``."""
    engine: Engine = app.extensions["hiroba.engine"]
    return engine


def get_session() -> Session:
    """Return the session of the current request or app context, creating it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["hiroba.sessionmaker"]()
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextlib.contextmanager
def transaction(app: Flask) -> Iterator[Session]:
    """Open a session in one transaction: commit on success, roll back on error, always close."""
    maker: sessionmaker[Session] = app.extensions["hiroba.sessionmaker"]
    with maker.begin() as session:
        yield session


@contextlib.contextmanager
def reading(app: Flask) -> Iterator[Session]:
    """Open a session for reads only, always rolled back and closed.

    On SQLite it begins a deferred transaction, which in WAL mode never waits for a writer (a
    ``transaction`` takes the write lock up front): for hot lookups that must not queue behind
    writes, such as the SMTP intake's check of each recipient.
    """
    maker: sessionmaker[Session] = app.extensions["hiroba.readmaker"]
    with maker() as session:
        try:
            yield session
        finally:
            session.rollback()


def is_postgres(session: Session) -> bool:
    """Tell whether ``session`` talks to PostgreSQL (for SKIP LOCKED and search)."""
    return session.get_bind().dialect.name == "postgresql"
