"""The signing key: no shipped default any more. Without HIROBA_SECRET_KEY, `hiroba init` (or
the first start) makes a random key in the instance folder, mode 0600, and every later start
and process on that folder signs with it; a session forged with the old public key is refused.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from hub import create_app, db, secret_key
from tests.conftest import dispose, test_settings
from tests.factories import make_user

OLD_DEFAULT = "dev-not-secret-change-me"


@pytest.fixture
def environment(monkeypatch, tmp_path, database_url) -> Path:
    """A deployment configured as the README says, without HIROBA_SECRET_KEY."""
    for name in ("HIROBA_SECRET_KEY", "HIROBA_OLD_SECRET_KEYS", "HIROBA_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    instance = tmp_path / "deployed"
    monkeypatch.setenv("HIROBA_INSTANCE_DIR", str(instance))
    monkeypatch.setenv("HIROBA_DATABASE_URL", database_url)
    return instance


def _cookie(key: str, session: dict[str, object]) -> str:
    signer = Flask("forger")
    signer.secret_key = key
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer)
    assert serializer is not None
    return str(serializer.dumps(session))


def test_a_fresh_instance_gets_a_key_file_that_every_start_shares(environment):
    first = create_app()
    second = create_app()
    try:
        key_file = environment / "secret_key"
        key = first.config["SECRET_KEY"]
        assert key_file.read_text().strip() == key == second.config["SECRET_KEY"]
        assert key != OLD_DEFAULT and len(key) >= 40
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    finally:
        dispose(first)
        dispose(second)


def test_another_instance_gets_another_key(environment, monkeypatch, tmp_path):
    one = create_app()
    monkeypatch.setenv("HIROBA_INSTANCE_DIR", str(tmp_path / "elsewhere"))
    other = create_app()
    try:
        assert one.config["SECRET_KEY"] != other.config["SECRET_KEY"]
    finally:
        dispose(one)
        dispose(other)


def test_hiroba_init_makes_the_key_and_keeps_it(monkeypatch, tmp_path):
    from mailbridge.cli import main

    for name in ("HIROBA_SECRET_KEY", "HIROBA_OLD_SECRET_KEYS", "HIROBA_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HIROBA_INSTANCE_DIR", str(tmp_path / "instance"))
    # `hiroba init` migrates: on its own SQLite file, whichever database the suite runs on.
    monkeypatch.setenv("HIROBA_DATABASE_URL", f"sqlite:///{tmp_path / 'init.db'}")
    first = CliRunner().invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    key_file = tmp_path / "instance" / "secret_key"
    assert f"made a new signing key in {key_file}" in first.output
    key = key_file.read_text()
    again = CliRunner().invoke(main, ["init"])
    assert again.exit_code == 0 and "made a new" not in again.output
    assert f"signing key in {key_file}" in again.output and key_file.read_text() == key


def test_a_session_forged_with_the_old_default_key_is_refused(environment):
    app = create_app()
    try:
        with db.transaction(app) as s:
            admin = make_user(s, email="sato@corp.example", admin=True)
            admin_id, session_id = admin.id, admin.get_id()
        client = app.test_client()
        # The hub's own host (BASE_URL), or the test client would not send the cookie.
        host = app.config["SERVER_NAME"].split(":")[0]
        for forged in (str(admin_id), session_id):
            cookie = _cookie(OLD_DEFAULT, {"_user_id": forged, "_fresh": True})
            client.set_cookie("session", cookie, domain=host)
            page = client.get("/admin/members")
            assert page.status_code == 302 and "/login" in page.headers["Location"]
        # The same cookie signed with the instance's own key is the admin's: the test reads
        # the pages a forger was after.
        own = _cookie(app.config["SECRET_KEY"], {"_user_id": session_id, "_fresh": True})
        client.set_cookie("session", own, domain=host)
        assert client.get("/admin/members").status_code == 200
    finally:
        dispose(app)


def test_without_a_key_and_a_writable_instance_folder_the_hub_does_not_start(
    environment, monkeypatch, tmp_path
):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("HIROBA_INSTANCE_DIR", str(blocker / "instance"))
    with pytest.raises(secret_key.SecretKeyError, match="set HIROBA_SECRET_KEY"):
        create_app()
    # A key from the environment needs no file.
    monkeypatch.setenv("HIROBA_SECRET_KEY", "a-secret-of-this-company")
    app = create_app()
    assert app.config["SECRET_KEY"] == "a-secret-of-this-company"
    dispose(app)


def test_an_empty_key_file_is_refused(environment):
    environment.mkdir(parents=True)
    (environment / "secret_key").write_text("\n")
    with pytest.raises(secret_key.SecretKeyError, match="is empty"):
        create_app()


@pytest.mark.parametrize(
    "settings",
    [{"SECRET_KEY": OLD_DEFAULT}, {"OLD_SECRET_KEYS": f"an-older-one, {OLD_DEFAULT}"}],
)
def test_the_old_public_key_is_refused_even_when_set(database_url, tmp_path, settings):
    with pytest.raises(secret_key.SecretKeyError, match="public"):
        create_app(test_settings(database_url, tmp_path, **settings))


def test_hiroba_says_what_to_set_without_a_traceback(monkeypatch, tmp_path):
    from mailbridge.cli import main

    monkeypatch.delenv("HIROBA_CONFIG_FILE", raising=False)
    monkeypatch.setenv("HIROBA_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("HIROBA_DATABASE_URL", f"sqlite:///{tmp_path / 'init.db'}")
    monkeypatch.setenv("HIROBA_SECRET_KEY", OLD_DEFAULT)
    refused = CliRunner().invoke(main, ["init"])
    assert refused.exit_code == 1 and refused.exception is not None
    assert "Error: HIROBA_SECRET_KEY is the development key" in refused.output
    assert "Traceback" not in refused.output
