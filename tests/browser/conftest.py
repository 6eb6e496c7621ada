"""What the browser tests share: the demo hub in Japanese, and signing in as a demo member."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from playwright.sync_api import Page, expect

from hub import create_app, db, demo
from hub.web import babel
from tests.conftest import LiveServer, free_port, test_settings

PASSWORD = "browser-demo-pass"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ja_hub(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The demo hub with CSRF on, in Japanese from the project's catalog compiled here (no make
    step needed)."""
    folder = tmp_path / "translations" / "ja" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (ROOT / "hub/translations/ja/LC_MESSAGES/messages.po").open("rb") as src:
        catalog = read_po(src)
    with (folder / "messages.mo").open("wb") as out:
        write_mo(out, catalog)
    port = free_port()
    app = create_app(
        test_settings(database_url, tmp_path, BASE_URL=f"http://127.0.0.1:{port}",
                      WTF_CSRF_ENABLED=True,
                      BABEL_TRANSLATION_DIRECTORIES=str(tmp_path / "translations"))
    )  # fmt: skip
    # Flask-Babel keeps one translation cache per process: drop what earlier apps loaded.
    with app.app_context():
        babel.domain_instance.cache.clear()
    with db.transaction(app) as session:
        demo.load(session, password=PASSWORD)
    server = LiveServer(app, port)
    yield server
    server.stop()
    db.engine_of(app).dispose()
    with app.app_context():
        babel.domain_instance.cache.clear()


def sign_in(page: Page, base: str, local: str) -> None:
    """Sign in as the demo member ``local`` (their address's local part)."""
    page.goto(f"{base}/login")
    page.locator("form[action='/login'] input[name=email]").fill(f"{local}@{demo.DOMAIN}")
    page.locator("form[action='/login'] input[name=password]").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page.locator("header.site .who")).to_be_visible()
