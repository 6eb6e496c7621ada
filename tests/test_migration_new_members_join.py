"""Migration 0009 adds channel.new_members_join: the channels a hub already has are not marked
(every new member still joins the announcement channel, whatever it says), and the migrated
schema equals the models; on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from hub import db, migrate
from tests.test_migrations import empty_database_url  # noqa: F401 (a fixture)

INSERT = (
    "INSERT INTO channel (slug, name, purpose, kind, private, status, created_at, "
    "last_activity_at) VALUES (:slug, :slug, 'x', 'work', false, 'active', :now, :now)"
)


def test_channels_from_before_are_not_marked(empty_database_url):  # noqa: F811
    engine = db.make_engine(empty_database_url)
    try:
        cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0008")
            for slug in ("announcements", "general"):
                conn.execute(text(INSERT), {"slug": slug, "now": "2026-11-01 09:00:00+00:00"})
        migrate.upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT slug, new_members_join FROM channel ORDER BY slug"))
            assert [(slug, bool(flag)) for slug, flag in rows] == [
                ("announcements", False),
                ("general", False),
            ]
        assert migrate.differences(engine) == []
    finally:
        engine.dispose()
