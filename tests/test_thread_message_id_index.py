"""A reply whose mail client dropped the +token is placed by the Message-ID it answers; when that
is the first mail of a thread begun by mail, the thread is found through an index on
thread.message_id (migration 0007), not by reading every thread. Checked on the migrated schema
with the database's own query plan, on SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select, text

from hub import db, migrate
from hub.models import Thread
from tests.test_migrations import empty_database_url  # noqa: F401 (a fixture)


def test_a_thread_is_found_by_its_message_id_through_an_index(empty_database_url):  # noqa: F811
    engine = db.make_engine(empty_database_url)
    try:
        migrate.upgrade(engine)
        # The lookup mailbridge.rules._from_references makes.
        lookup = select(Thread.id).where(Thread.message_id == "first@corp.example")
        sql = str(lookup.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            else:
                # A few rows would be read whole anyway: ask what it does with many.
                conn.execute(text("SET enable_seqscan = off"))
                plan = " ".join(r[0] for r in conn.execute(text(f"EXPLAIN {sql}")))
        assert "ix_thread_message_id" in plan, plan
    finally:
        engine.dispose()
