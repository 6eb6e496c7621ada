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
