"""Shared fixtures: the app on a fresh database (SQLite, or PostgreSQL when asked), clients, auth.

The whole suite runs on SQLite; run it with HIROBA_TEST_DB=postgres (and HIROBA_TEST_POSTGRES_URL)
to run it again on PostgreSQL, as `make test` does when the URL is set.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from hub import create_app, db, search
from hub.db import Base

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_DB = os.environ.get("HIROBA_TEST_DB", "sqlite")
PG_URL = os.environ.get("HIROBA_TEST_POSTGRES_URL", "")


def need_tool(name: str, path: str | None = None) -> str:
    """Return the path of an external tool; a missing tool fails in CI and skips elsewhere."""
    found = path if path and os.path.exists(path) else shutil.which(name)
    if not found:
        if IN_CI:
            pytest.fail(f"{name} is not installed (CI=true: .ci/run must install it)")
        pytest.skip(f"{name} is not installed")
    return found


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine | None]:
    """One PostgreSQL engine for the session, with the schema created once (None on SQLite)."""
    if TEST_DB != "postgres":
        yield None
        return
    if not PG_URL:
        pytest.fail("HIROBA_TEST_DB=postgres needs HIROBA_TEST_POSTGRES_URL")
    engine = db.make_engine(PG_URL)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        search.drop(conn)
        Base.metadata.create_all(conn)
        search.install(conn)
    yield engine
    engine.dispose()


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def database_url(tmp_path: Path, pg_engine: Engine | None) -> str:
    """A fresh, empty database with the schema, for one test."""
    if pg_engine is not None:
        _truncate_all(pg_engine)
        return PG_URL
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = db.make_engine(url)
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
        search.install(conn)
    engine.dispose()
    return url


def test_settings(database_url: str, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "MAIL_DOMAIN": "hub.test",
        "BASE_URL": "http://hub.test",
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "RELAY_URL": "",
        **overrides,
    }


test_settings.__test__ = False  # type: ignore[attr-defined]

CATALOG = Path(__file__).resolve().parents[1] / "hub/translations/ja/LC_MESSAGES/messages.po"


@contextlib.contextmanager
def japanese_app(database_url: str, tmp_path: Path, **overrides: Any) -> Iterator[Flask]:
    """The app with the project's Japanese catalog compiled here (no ``make`` step needed)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    from hub.web import babel

    folder = tmp_path / "translations" / "ja" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with CATALOG.open("rb") as src, (folder / "messages.mo").open("wb") as out:
        write_mo(out, read_po(src))
    dirs = str(tmp_path / "translations")
    app = create_app(
        test_settings(database_url, tmp_path, BABEL_TRANSLATION_DIRECTORIES=dirs, **overrides)
    )
    # Flask-Babel keeps one translation cache per process: drop what earlier apps loaded.
    with app.app_context():
        babel.domain_instance.cache.clear()
    try:
        yield app
    finally:
        with app.app_context():
            babel.domain_instance.cache.clear()
        dispose(app)


def dispose(app: Flask, wait: float = 5.0) -> None:
    """Dispose of the app's engine once every connection is back in its pool.

    A connection still checked out when the pool is disposed (a live server's request thread
    or a worker thread finishing as the test ends) goes back to the discarded pool and is
    garbage-collected open later, during another test: psycopg's ResourceWarning, an error
    here (it broke CI runs on PostgreSQL at a browser test's setup). So wait for them, a few
    seconds at most.
    """
    engine = db.engine_of(app)
    checked_out = getattr(engine.pool, "checkedout", lambda: 0)
    deadline = time.monotonic() + wait
    while checked_out() and time.monotonic() < deadline:
        time.sleep(0.02)
    engine.dispose()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on a fresh database; CSRF and rate limits off (tests of those turn them on)."""
    application = create_app(test_settings(database_url, tmp_path))
    yield application
    dispose(application)


@pytest.fixture
def session(app: Flask) -> Iterator[Any]:
    """A session for arranging and checking rows; commit what a request must see."""
    with app.app_context():
        s = app.extensions["hiroba.sessionmaker"]()
        try:
            yield s
        finally:
            s.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client whose browser asks for English (tests of Japanese pages ask for ja)."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client


class AuthActions:
    """Sign in and out through the real sign-in form (password)."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str, password: str = "correct horse battery") -> Any:
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self) -> Any:
        return self._client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """Argon2 at its cheapest in tests (production keeps the RFC 9106 defaults)."""
    from argon2 import PasswordHasher

    from hub.services import accounts

    saved = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    accounts._hasher = saved


# --- real servers shared by several test modules -------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The app served over real HTTP (werkzeug, threaded) on a free loopback port."""

    def __init__(self, app: Flask, port: int) -> None:
        import threading

        from werkzeug.serving import make_server

        self.app = app
        self._server = make_server("127.0.0.1", port, app, threaded=True)
        # Request threads are joined on stop: one still answering when a test ends would hand
        # its database connection back to an engine the fixture has disposed, and the
        # connection would be garbage-collected open (a ResourceWarning, an error here).
        self._server.daemon_threads = False
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def live_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app whose BASE_URL is its own live address (CSRF on, as for real users)."""
    port = free_port()
    application = create_app(
        test_settings(
            database_url,
            tmp_path,
            BASE_URL=f"http://127.0.0.1:{port}",
            WTF_CSRF_ENABLED=True,
            LIVE_PORT=port,
        )
    )
    yield application
    dispose(application)


@pytest.fixture
def live_server(live_app: Flask) -> Iterator[LiveServer]:
    """Serve ``live_app`` on the port its BASE_URL names."""
    server = LiveServer(live_app, live_app.config["LIVE_PORT"])
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Playwright drives Debian's Chromium (no `playwright install`; see RECIPES.md §3)."""
    chromium = need_tool("chromium", os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium")
    return {
        **browser_type_launch_args,
        "executable_path": chromium,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


class StoringHandler:
    """An aiosmtpd handler that keeps every message it gets (a real SMTP sink)."""

    def __init__(self) -> None:
        import threading

        self.messages: list[dict[str, Any]] = []
        self.cond = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import email
        import email.policy

        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.cond:
            self.messages.append(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": list(envelope.rcpt_tos),
                    "raw": envelope.content,
                    "msg": msg,
                }
            )
            self.cond.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.messages) >= n, timeout)
        assert ok, f"expected {n} messages at the sink, got {len(self.messages)}"
        return self.messages


@pytest.fixture
def smtp_sink() -> Iterator[Any]:
    """A real SMTP server on loopback that stores what it receives; ``.url`` is a RELAY_URL."""
    from aiosmtpd.controller import Controller

    handler = StoringHandler()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), server_hostname="localhost"
    )
    controller.start()
    handler.url = f"smtp://127.0.0.1:{controller.port}"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        controller.stop()
