"""Migration 0014 moves the thread of an announcement made for a private channel's members
(before they lived in that channel) out of the open announcement channel into the private one,
on SQLite and PostgreSQL; other announcements' threads stay where they are."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from hub import db, migrate
from tests.test_migrations import empty_database_url  # noqa: F401 (a fixture)


def test_announcement_threads_for_private_channels_move_there(empty_database_url):  # noqa: F811
    engine = db.make_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0013")
            channels = [(1, "announcements", False), (2, "jinji", True), (3, "sales", False)]
            for cid, slug, private in channels:
                conn.execute(
                    text("INSERT INTO channel (id, slug, name, purpose, kind, private, status, "
                         "created_at, last_activity_at, new_members_join) VALUES (:id, :slug, "
                         ":slug, '', 'work', :private, 'active', CURRENT_TIMESTAMP, "
                         "CURRENT_TIMESTAMP, false)"),
                    {"id": cid, "slug": slug, "private": private},
                )  # fmt: skip
            # Four announcements, all made in the announcement channel: to everyone, to 人事
            # (private), to 営業 (open), and to 営業 and 人事.
            for n, audience in enumerate(("", "2", "3", "2,3"), start=1):
                conn.execute(
                    text("INSERT INTO thread (id, channel_id, title, created_at, last_post_at) "
                         "VALUES (:n, 1, 't', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"n": n},
                )  # fmt: skip
                conn.execute(
                    text("INSERT INTO announcement (id, title, body, ack_required, urgent, "
                         "audience, remind_every_days, published_at, thread_id, version) VALUES "
                         "(:n, 't', 'b', false, false, :a, 0, CURRENT_TIMESTAMP, :n, 1)"),
                    {"n": n, "a": audience},
                )  # fmt: skip
        migrate.upgrade(engine)
        with engine.connect() as conn:
            homes = dict(conn.execute(text("SELECT id, channel_id FROM thread ORDER BY id")).all())
        assert homes == {1: 1, 2: 2, 3: 1, 4: 2}
    finally:
        engine.dispose()
