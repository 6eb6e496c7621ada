"""What the browser tests share: the demo hub in Japanese, and signing in as a demo member."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from hub import db, demo
from tests.conftest import LiveServer, free_port, japanese_app

PASSWORD = "browser-demo-pass"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ja_hub(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The demo hub in Japanese, with CSRF on."""
    port = free_port()
    with japanese_app(database_url, tmp_path, BASE_URL=f"http://127.0.0.1:{port}",
                      WTF_CSRF_ENABLED=True) as app:  # fmt: skip
        with db.transaction(app) as session:
            demo.load(session, password=PASSWORD)
        server = LiveServer(app, port)
        yield server
        server.stop()


def sign_in(page: Page, base: str, local: str) -> None:
    """Sign in as the demo member ``local`` (their address's local part)."""
    page.goto(f"{base}/login")
    page.locator("form[action='/login'] input[name=email]").fill(f"{local}@{demo.DOMAIN}")
    page.locator("form[action='/login'] input[name=password]").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page.locator("header.site .who")).to_be_visible()
