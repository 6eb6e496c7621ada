"""The `hiroba` command: the hub's admin commands, the mail commands, and the processes.

It lives in mailbridge because it assembles both halves: hub never imports mailbridge.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext

from hub import cli as hub_cli
from hub import create_app, culture_cli
from hub.secret_key import SecretKeyError
from mailbridge import inbound_cli, outbound_cli, retention_cli

mail_group = AppGroup(
    "mail", help="Mail in and out: ingest, address, log, digest, outbox, flush, prune."
)
for _cmd in (*inbound_cli.COMMANDS, *outbound_cli.COMMANDS, retention_cli.prune_command):
    mail_group.add_command(_cmd)


def _app() -> Flask:
    try:
        return create_app()
    except SecretKeyError as exc:
        # No usable signing key (hub/secret_key.py): say what to set, without a traceback.
        raise click.ClickException(str(exc)) from None


@click.group(
    cls=FlaskGroup,
    create_app=_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
)
def main() -> None:
    """Hiroba (広場): an internal social hub that email-only members take part in fully."""


def _start_smtp(app: Flask) -> Any:
    from mailbridge import smtp

    controller = smtp.make_controller(app)
    controller.start()
    return controller


def _start_worker(app: Flask) -> Any:
    from mailbridge import scheduler

    sched = scheduler.build_scheduler(app)
    sched.start()
    return sched


def _start_imap(app: Flask, stop: threading.Event) -> threading.Thread | None:
    if not app.config.get("IMAP_URL"):
        return None
    from mailbridge import imap

    t = threading.Thread(target=imap.run_poller, args=(app, stop), name="imap", daemon=True)
    t.start()
    return t


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def _serve_web(app: Flask) -> None:
    import waitress

    waitress.serve(
        app,
        host=app.config["WEB_HOST"],
        port=app.config["WEB_PORT"],
        threads=app.config["WEB_THREADS"],
        ident="hiroba",
    )


@main.command("serve")
@with_appcontext
def serve_command() -> None:
    """Run everything in one process: web, SMTP intake, worker (and IMAP when configured)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    cfg = app.config
    controller = _start_smtp(app)
    sched = _start_worker(app)
    stop = threading.Event()
    _start_imap(app, stop)
    click.echo(f"Hiroba: {cfg['BASE_URL']}/  (web on {cfg['WEB_HOST']}:{cfg['WEB_PORT']})")
    click.echo(f"SMTP intake on {cfg['SMTP_HOST']}:{cfg['SMTP_PORT']} for @{cfg['MAIL_DOMAIN']}")
    if not cfg.get("RELAY_URL"):
        click.echo(f"Outgoing mail is caught, not sent: {cfg['BASE_URL']}/admin/mail/caught")
    try:
        _serve_web(app)
    finally:
        stop.set()
        sched.shutdown(wait=False)
        controller.stop()


@main.command("web")
@with_appcontext
def web_command() -> None:
    """Run the web app alone (waitress; use gunicorn 'hub:create_app()' to scale out)."""
    _serve_web(current_app._get_current_object())  # type: ignore[attr-defined]


@main.command("smtpd")
@with_appcontext
def smtpd_command() -> None:
    """Run the SMTP intake alone."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    controller = _start_smtp(app)
    click.echo(f"SMTP intake on {app.config['SMTP_HOST']}:{app.config['SMTP_PORT']}")
    try:
        _wait_for_signal()
    finally:
        controller.stop()


@main.command("worker")
@with_appcontext
def worker_command() -> None:
    """Run the scheduled jobs: event fan-out, outbox, digests, reminders (and IMAP if set)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    sched = _start_worker(app)
    stop = threading.Event()
    _start_imap(app, stop)
    try:
        _wait_for_signal()
    finally:
        stop.set()
        sched.shutdown(wait=False)


@main.command("imap")
@with_appcontext
def imap_command() -> None:
    """Run the IMAP poller alone (IMAP_URL must be set)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("IMAP_URL"):
        raise click.ClickException("set HIROBA_IMAP_URL, e.g. imap://user:pass@host:143/INBOX")
    from mailbridge import imap

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    imap.run_poller(app, stop)


for _cmd in (*hub_cli.COMMANDS, *culture_cli.COMMANDS, mail_group):
    main.add_command(_cmd)
