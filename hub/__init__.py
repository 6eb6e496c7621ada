"""Hiroba's hub: the Flask application and the domain (models, services, web pages)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from hub import config, db, secret_key

ROOT = Path(__file__).resolve().parent
# templates/ sits beside hub/ in a checkout and in site-packages when installed from a wheel.
TEMPLATES = ROOT.parent / "templates"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then HIROBA_* environment variables (or the test dict)."""
    app = Flask(__name__, template_folder=str(TEMPLATES), static_folder="static")
    app.config.from_object(config.Defaults)
    if test_config is None:
        # An optional TOML file (HIROBA_CONFIG_FILE) first; environment variables win over it.
        config_file = os.environ.get("HIROBA_CONFIG_FILE")
        if config_file:
            app.config.from_file(config_file, load=tomllib.load, text=False)
        app.config.from_prefixed_env("HIROBA")
    else:
        app.config.update(test_config)
    _derive_settings(app)
    _signing_key(app)
    db.init_app(app)
    # Imported here: the web layer needs the configured app, and models must not import Flask.
    from hub import web

    web.init_app(app)
    return app


def _signing_key(app: Flask) -> None:
    """Use HIROBA_SECRET_KEY, else the instance folder's key (made on the first start)."""
    cfg = app.config
    if not cfg.get("SECRET_KEY"):
        key, created = secret_key.instance_key(Path(cfg["INSTANCE_DIR"]))
        cfg["SECRET_KEY"] = key
        # `hiroba init` says where the key is, and that it is new.
        app.extensions["hiroba.secret_key_file"] = (
            Path(cfg["INSTANCE_DIR"]) / secret_key.FILE_NAME,
            created,
        )
    secret_key.check(str(cfg["SECRET_KEY"]), str(cfg.get("OLD_SECRET_KEYS") or ""))


def _derive_settings(app: Flask) -> None:
    """Fill settings that follow from others (secure cookies from the scheme, ints from env)."""
    cfg = app.config
    for key in (
        "WEB_PORT",
        "SMTP_PORT",
        "SMTP_MAX_SIZE",
        "SMTP_MAX_RECIPIENTS",
        "WEB_THREADS",
        "MAX_ATTACHMENT_BYTES",
        "BOUNCE_THRESHOLD",
        "BOUNCE_SOFT_DAYS",
        "BOUNCE_WINDOW_DAYS",
        "FLAG_HIDE_THRESHOLD",
        "IMAP_FIRST_SYNC_DAYS",
        "MAGIC_LINK_MINUTES",
        "SCHEDULER_INTERVAL_SECONDS",
        "DIGEST_PROCESSES",
        "DIGEST_MEMBERS_PER_PROCESS",
    ):
        cfg[key] = int(cfg[key])
    # Unset, the hub's own address: a demo on HIROBA_WEB_PORT=8711 links to 8711 in its mail.
    base = str(cfg["BASE_URL"] or f"http://127.0.0.1:{cfg['WEB_PORT']}").rstrip("/")
    cfg["BASE_URL"] = base
    https = base.startswith("https://")
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if cfg.get(key) is None:
            cfg[key] = https
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    if not cfg.get("SERVER_NAME"):
        cfg["SERVER_NAME"] = parts.netloc
    cfg["PREFERRED_URL_SCHEME"] = parts.scheme or "http"
    cfg["APPLICATION_ROOT"] = parts.path or "/"
    cfg["MAIL_DOMAIN"] = str(cfg["MAIL_DOMAIN"]).lower()
    cfg["MAX_CONTENT_LENGTH"] = cfg["MAX_ATTACHMENT_BYTES"] + 1024 * 1024
