"""The digest job runs every few minutes over DigestRun rows that pile up (one a member a day):
it finds who already has the period due now through an index on digest_run.period (migration
0010), not by reading every run. Checked on the migrated schema with the database's own query
plan, on SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select, text

from hub import db, migrate
from hub.models import DigestRun
from tests.test_migrations import empty_database_url  # noqa: F401 (a fixture)


def test_the_runs_of_a_period_are_found_through_an_index(empty_database_url):  # noqa: F811
    engine = db.make_engine(empty_database_url)
    try:
        migrate.upgrade(engine)
        # The lookup mailbridge.digest_job._due makes.
        periods = ["daily:2026-11-27", "daily:2026-11-28"]
        lookup = select(DigestRun.user_id, DigestRun.period).where(DigestRun.period.in_(periods))
        sql = str(lookup.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            else:
                # A few rows would be read whole anyway: ask what it does with many.
                conn.execute(text("SET enable_seqscan = off"))
                plan = " ".join(r[0] for r in conn.execute(text(f"EXPLAIN {sql}")))
        assert "ix_digest_run_period" in plan, plan
    finally:
        engine.dispose()
