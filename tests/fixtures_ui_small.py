"""The demo hub in Japanese with hub/translations/parts/ui_small.po merged into the catalog, as
the lead will merge it (once merged and the part removed, the catalog alone is read)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask

from hub import create_app, db, demo
from hub.web import babel
from tests.browser.conftest import PASSWORD
from tests.conftest import CATALOG, LiveServer, dispose, free_port, test_settings

PART = CATALOG.parents[2] / "parts" / "ui_small.po"


def merged_catalog() -> Catalog:
    """The project's Japanese catalog with this part's msgstrs in place of the old ones."""
    with CATALOG.open("rb") as src:
        catalog = read_po(src)
    if PART.exists():
        with PART.open("rb") as src:
            for message in read_po(src):
                # Catalog[id] = message merges into an existing entry and keeps its msgstr.
                if message.id and message.id in catalog:
                    del catalog[message.id]
                if message.id:
                    catalog[message.id] = message
    return catalog


@contextlib.contextmanager
def ui_small_app(database_url: str, tmp_path: Path, **overrides: Any) -> Iterator[Flask]:
    """The app with the Japanese catalog (and this part of it) compiled here."""
    folder = tmp_path / "translations" / "ja" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as out:
        write_mo(out, merged_catalog())
    dirs = str(tmp_path / "translations")
    app = create_app(
        test_settings(database_url, tmp_path, BABEL_TRANSLATION_DIRECTORIES=dirs, **overrides)
    )
    with app.app_context():
        babel.domain_instance.cache.clear()
    try:
        yield app
    finally:
        with app.app_context():
            babel.domain_instance.cache.clear()
        dispose(app)


@pytest.fixture
def ja_hub(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The demo hub in Japanese (this part merged), CSRF on, served over real HTTP."""
    port = free_port()
    with ui_small_app(database_url, tmp_path, BASE_URL=f"http://127.0.0.1:{port}",
                      WTF_CSRF_ENABLED=True) as app:  # fmt: skip
        with db.transaction(app) as session:
            demo.load(session, password=PASSWORD)
        server = LiveServer(app, port)
        yield server
        server.stop()
