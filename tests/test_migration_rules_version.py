"""Migration 0008 records which version of the rules each member accepted: whoever had accepted
the rules before it accepted the one version there was (1), nobody else any; on SQLite and on
PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from hub import db, migrate
from tests.test_migrations import empty_database_url  # noqa: F401 (a fixture)

INSERT = (
    'INSERT INTO "user" (email, name, role, email_only, locale, timezone, working_days, '
    "work_start, work_end, digest_hour, digest_weekday, echo_own_posts, active, created_at, "
    "rules_accepted_at, bounce_count, bouncing) VALUES "
    "(:email, 'x', 'member', false, 'ja', 'Asia/Tokyo', 'mon', 0, 0, 8, 0, false, true, "
    ":now, :accepted, 0, false)"
)


def test_members_who_had_accepted_the_rules_accepted_version_1(empty_database_url):  # noqa: F811
    engine = db.make_engine(empty_database_url)
    try:
        cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0007")
            now = "2026-11-01 09:00:00+00:00"
            conn.execute(text(INSERT), {"email": "yes@corp.example", "now": now, "accepted": now})
            conn.execute(text(INSERT), {"email": "no@corp.example", "now": now, "accepted": None})
        migrate.upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(text('SELECT email, rules_version FROM "user" ORDER BY email'))
            assert list(map(tuple, rows)) == [("no@corp.example", 0), ("yes@corp.example", 1)]
        assert migrate.differences(engine) == []
    finally:
        engine.dispose()
