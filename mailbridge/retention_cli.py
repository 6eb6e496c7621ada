"""`hiroba mail prune`: drop the raw bytes of finished mail now (the daily job does it too)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from mailbridge import retention


@click.command("prune")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Keep the raw bytes of this many days (default: KEEP_MAIL_DAYS).",
)
@click.option("--dry-run", is_flag=True, help="Count what would be dropped; change nothing.")
@with_appcontext
def prune_command(days: int | None, dry_run: bool) -> None:
    """Drop the raw bytes of finished mail older than KEEP_MAIL_DAYS; print rows and bytes."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    days = days or int(app.config.get("KEEP_MAIL_DAYS") or 0)
    if days <= 0:
        raise click.ClickException("KEEP_MAIL_DAYS is 0 (keep mail forever): give --days N")
    done = retention.prune(app, days=days, dry_run=dry_run)
    verb = "would be dropped" if dry_run else "dropped"
    click.echo(f"Raw mail older than {days} days, {verb}:")
    for label, tally in (
        ("outbox mail", done.outbox),
        ("inbound mail", done.inbound),
        ("caught mail (rows deleted)", done.caught),
    ):
        click.echo(f"  {label}: {tally.rows} rows, {tally.bytes} bytes")
    click.echo(f"  total: {done.rows} rows, {done.bytes} bytes")
    if done.reclaimed_pages is None:
        click.echo("The SQLite file shrinks only after VACUUM (README, Settings).")
