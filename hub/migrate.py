"""Run the Alembic migrations from Python (``hiroba init``) and compare them with the models."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from hub import search
from hub.db import Base

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the database behind ``engine`` to the newest schema."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def differences(engine: Engine) -> list[object]:
    """What differs between the migrated database and the models (empty when they agree)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": _not_search_index}
        )
        return list(compare_metadata(ctx, Base.metadata))


def _not_search_index(name: str | None, type_: str, parent_names: object) -> bool:
    """The search index (FTS5 tables, trigram indexes) lives outside the models."""
    return name not in search.INDEX_OBJECTS and name != "alembic_version"
