"""`hiroba mail` commands for mail out: digest, outbox, flush."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from hub.db import transaction, utcnow
from hub.models import DigestRun, OutboxMessage
from hub.services import accounts
from mailbridge import delivery, digest_mail, digests, fanout, outbound


def _app() -> Flask:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


@click.command("digest")
@click.option("--member", "email", required=True, help="The member's address.")
@click.option("--now", "now_flag", is_flag=True, help="Queue it now, whatever the hour.")
@click.option("--preview", is_flag=True, help="Print the digest; send and record nothing.")
@with_appcontext
def digest_command(email: str, now_flag: bool, preview: bool) -> None:
    """Build one member's digest now (then `hiroba mail flush` sends it), or preview it."""
    app = _app()
    now = utcnow()
    with transaction(app) as session:
        user = accounts.find_user_by_email(session, email)
        if user is None:
            raise click.ClickException(f"no member with the address {email}")
        if preview:
            since = now - timedelta(days=1)
            last = session.scalar(
                select(func.max(DigestRun.until)).where(DigestRun.user_id == user.id)
            )
            digest = digests.collect_digest(session, user, last or since, now)
            if digest is None:
                click.echo("nothing new: no digest")
                return
            ctx = digest_mail.digest_context(app, user, digest)
            ctx.update(recipient=user, prefs_url=outbound.prefs_url(app, user.id))
            ctx["base_url"] = app.config["BASE_URL"]
            look = outbound.render_email(app, "digest", user.locale, **ctx)
            click.echo(f"Subject: {look.subject}\n\n{look.text}")
            return
        period = digests.due_period(user, now)
        if now_flag or period is None:
            period = f"now:{now.isoformat(timespec='seconds')}"
        row = digests.build_and_queue_digest(app, session, user, period, now)
        if row is None:
            click.echo("nothing new (or already sent for this period): no digest")
        else:
            click.echo(f"queued digest {row.message_id} to {row.to_addr}")


def _row(row: OutboxMessage) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "to": row.to_addr,
        "subject": row.subject,
        "status": row.status,
        "attempts": row.attempts,
        "not_before": row.not_before.isoformat(),
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "message_id": row.message_id,
        "dedupe_key": row.dedupe_key,
        "last_error": row.last_error,
    }


@click.command("outbox")
@click.option("--status", default=None, help="pending, sending, sent, failed or cancelled.")
@click.option("--json", "as_json", is_flag=True, help="A JSON list.")
@click.option("--limit", default=200, show_default=True)
@with_appcontext
def outbox_command(status: str | None, as_json: bool, limit: int) -> None:
    """List the outbox, newest first."""
    with transaction(_app()) as session:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
        if status:
            stmt = stmt.where(OutboxMessage.status == status)
        rows = [_row(r) for r in session.scalars(stmt)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"{r['id']:>6} {r['status']:<9} {r['kind']:<8} {r['to']:<32} {r['subject']}")


@click.command("flush")
@with_appcontext
def flush_command() -> None:
    """Fan out pending events, deliver everything due, then exit (cron and tests)."""
    app = _app()
    events = mails = 0
    while n := fanout.fan_out(app):
        events += n
    mails = delivery.drain_due(app)
    click.echo(f"{events} events fanned out, {mails} mails delivered")


COMMANDS: tuple[click.Command, ...] = (digest_command, outbox_command, flush_command)
