"""Alembic environment: the models' metadata, the URL handed in by hub.migrate."""

from __future__ import annotations

from alembic import context

import hub.models  # noqa: F401  (registers every table on Base.metadata)
from hub import search
from hub.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=str(url).startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = make_engine(str(config.get_main_option("sqlalchemy.url")))
        with engine.connect() as conn:
            _run(conn)
        engine.dispose()
    else:
        _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        # The search index lives beside the tables, and SQLite drops a table's triggers when a
        # batch migration rebuilds the table (0006 rebuilt ``post``): the index stopped
        # following new posts. Whatever a migration did, the index is made whole again after
        # any upgrade (idempotent; SQLite re-reads every post into it). Not at base: no tables.
        if context.get_context().get_current_revision() is not None:
            search.install(connection)  # type: ignore[arg-type]


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
