"""Settings come from an optional TOML file, then HIROBA_* environment variables."""

from __future__ import annotations

from hub import create_app


def test_config_file_then_environment(tmp_path, monkeypatch):
    conf = tmp_path / "hiroba.toml"
    conf.write_text(
        'MAIL_DOMAIN = "hub.example.co.jp"\nSMTP_PORT = 2600\nBASE_URL = "https://hub.example"\n'
        f'DATABASE_URL = "sqlite:///{tmp_path}/c.db"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("HIROBA_CONFIG_FILE", str(conf))
    monkeypatch.setenv("HIROBA_SMTP_PORT", "2700")
    monkeypatch.setenv("HIROBA_INSTANCE_DIR", str(tmp_path / "instance"))
    app = create_app()
    assert app.config["MAIL_DOMAIN"] == "hub.example.co.jp"
    assert app.config["SMTP_PORT"] == 2700  # the environment wins over the file
    # https in BASE_URL turns on secure cookies.
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_without_a_base_url_mail_links_to_the_hubs_own_port(tmp_path, monkeypatch):
    """`HIROBA_WEB_PORT=8711 make demo`: the links in its mail and the address it prints go to
    8711 (they said 8000, where nothing listened)."""
    monkeypatch.delenv("HIROBA_BASE_URL", raising=False)
    monkeypatch.delenv("HIROBA_CONFIG_FILE", raising=False)
    monkeypatch.setenv("HIROBA_WEB_PORT", "8711")
    monkeypatch.setenv("HIROBA_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("HIROBA_DATABASE_URL", f"sqlite:///{tmp_path}/c.db")
    assert create_app().config["BASE_URL"] == "http://127.0.0.1:8711"
    monkeypatch.delenv("HIROBA_WEB_PORT")
    assert create_app().config["BASE_URL"] == "http://127.0.0.1:8000"
    monkeypatch.setenv("HIROBA_BASE_URL", "https://hiroba.example.co.jp/")
    assert create_app().config["BASE_URL"] == "https://hiroba.example.co.jp"
