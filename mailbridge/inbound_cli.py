"""`hiroba mail` commands for mail in: ingest, address, log, replay."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from hub import db, tokens
from hub.models import InboundMessage, OutboxMessage, Post
from hub.services import accounts, channels, mail_answers, threads
from mailbridge import addresses, ingest
from mailbridge.context import STATUSES, Outcome


def _app() -> Flask:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def _echo(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


def outcome_dict(outcome: Outcome) -> dict[str, Any]:
    """An Outcome as `hiroba mail ingest --json` prints it (``results`` when it made several
    posts or went to several of our addresses: one entry per post or destination)."""
    data: dict[str, Any] = {
        "status": outcome.status,
        "reason": outcome.reason,
        "thread_id": outcome.thread_id,
        "post_id": outcome.post_id,
        "author": outcome.author,
        "text": outcome.text,
        "trimmed": outcome.trimmed,
        # Nothing new above the quotes: the whole text was posted (never emptied).
        "kept_whole": outcome.kept_whole,
    }
    if len(outcome.results) > 1 or any("post_id" in r for r in outcome.results):
        data["results"] = outcome.results
    return data


@click.command("ingest")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message.")
@click.option(
    "--to",
    "to",
    multiple=True,
    help="Envelope recipient, repeatable (default: the To/Cc headers).",
)
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def ingest_command(as_json: bool, to: tuple[str, ...], files: tuple[str, ...]) -> None:
    """Feed .eml files through the inbound pipeline, as if they came by SMTP."""
    app = _app()
    for name in files:
        raw = Path(name).read_bytes()
        outcome = ingest.receive(app, raw, list(to), "cli")
        data = {"file": name, **outcome_dict(outcome)}
        if as_json:
            _echo(data)
        else:
            where = f" thread {outcome.thread_id} post {outcome.post_id}" if outcome.post_id else ""
            reason = f" ({outcome.reason})" if outcome.reason else ""
            click.echo(f"{name}: {outcome.status}{reason}{where}")


address_group = AppGroup("address", help="Print a valid address for a target.")


@address_group.command("reply")
@click.option("--thread", "thread_id", type=int, required=True)
@click.option("--member", required=True, help="The member's email address.")
@with_appcontext
def address_reply(thread_id: int, member: str) -> None:
    """The reply address a member uses to answer in a thread."""
    app = _app()
    with db.transaction(app) as session:
        user = accounts.find_user_by_email(session, member)
        if user is None:
            raise click.ClickException(f"no member {member}")
        try:
            thread = threads.get_visible_thread(session, thread_id, viewer=user)
        except Exception as exc:  # noqa: BLE001 - NotFound: say it plainly
            raise click.ClickException(f"thread {thread_id} is not visible to {member}") from exc
        keys = tokens.keys_from_config(app.config)
        click.echo(addresses.encode("reply", user.id, thread.id, app.config["MAIL_DOMAIN"], keys))


@address_group.command("channel")
@click.option("--channel", "slug", required=True)
@with_appcontext
def address_channel(slug: str) -> None:
    """The address that starts a new thread in a channel."""
    app = _app()
    with db.transaction(app) as session:
        channel = channels.find_channel(session, slug)
        if channel is None:
            raise click.ClickException(f"no channel {slug}")
        click.echo(addresses.channel_address(channel.slug, app.config["MAIL_DOMAIN"]))


def answer_entry(mail: OutboxMessage) -> dict[str, Any]:
    """One mail the hub sent back about an inbound message (a refusal's explanation, a command's
    answer, "which thread?"), as the admin's page of the message lists it: sent (when), waiting,
    not sent (why) or could not be sent (the relay's answer)."""
    return {
        "id": mail.id,
        "kind": mail.kind,
        "to": mail.to_addr,
        "subject": mail.subject,
        "status": mail.status,
        "created_at": mail.created_at.isoformat(),
        "sent_at": mail.sent_at.isoformat() if mail.sent_at else None,
        "last_error": mail.last_error,
    }


def log_entry(
    row: InboundMessage, kept_whole: bool = False, answers: Sequence[OutboxMessage] = ()
) -> dict[str, Any]:
    """One inbound message as the mail log shows it (``kept_whole``: its post is the whole
    mail, nothing new having been found above the quotes; ``answers``: what the hub mailed
    back to its sender, ``mail_answers.answers_to``)."""
    return {
        "id": row.id,
        "received_at": row.received_at.isoformat(),
        "processed_at": row.processed_at.isoformat() if row.processed_at else None,
        "source": row.source,
        "message_id": row.message_key,
        "rcpt": row.rcpt,
        "sender": row.sender,
        "subject": row.subject,
        "status": row.status,
        "reason": row.reason,
        "thread_id": row.thread_id,
        "post_id": row.post_id,
        "text": row.text,
        "trimmed": row.trimmed,
        "kept_whole": kept_whole,
        "results": [r for r in row.results or [] if "auth" not in r],
        "auth": next((r["auth"] for r in row.results or [] if "auth" in r), None),
        "answers": [answer_entry(a) for a in answers],
    }


def parse_since(value: str) -> datetime:
    """An ISO date/time, or an age like 30m, 2h, 7d."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[-1:] in units and value[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[value[-1]]: int(value[:-1])})
    when = datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@click.command("log")
@click.option("--status", type=click.Choice([*STATUSES, "received"]), default=None)
@click.option("--since", default=None, help="ISO time or an age: 30m, 2h, 7d.")
@click.option("--limit", type=int, default=200)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def log_command(status: str | None, since: str | None, limit: int, as_json: bool) -> None:
    """Every inbound message with its outcome, newest last."""
    with db.transaction(_app()) as session:
        stmt = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(limit)
        if status:
            stmt = stmt.where(InboundMessage.status == status)
        if since:
            stmt = stmt.where(InboundMessage.received_at >= parse_since(since))
        rows = list(reversed(list(session.scalars(stmt))))
        posts = [r.post_id for r in rows if r.post_id is not None]
        whole = set(session.scalars(select(Post.id).where(Post.id.in_(posts), Post.kept_whole)))
        entries = [
            log_entry(r, r.post_id in whole, mail_answers.answers_to(session, r)) for r in rows
        ]
    if as_json:
        _echo(entries)
        return
    for e in entries:
        reason = f" ({e['reason']})" if e["reason"] else ""
        click.echo(
            f"#{e['id']} {e['received_at'][:19]} {e['source']:<5} {e['status']}{reason} "
            f"{e['sender']} {e['subject'][:50]!r}"
        )
        for a in e["answers"]:
            click.echo(f"    -> {_answer_line(a)}")


def _answer_line(answer: dict[str, Any]) -> str:
    """A mail sent back, on one line under its message: "command sent 2026-11-27T01:00:05
    'subject'", with the reason it did not go."""
    when = f" {answer['sent_at'][:19]}" if answer["sent_at"] else ""
    why = f" ({answer['last_error'][:200]})" if answer["last_error"] else ""
    return f"{answer['kind']} {answer['status']}{when} {answer['subject'][:50]!r}{why}"


@click.command("replay")
@click.argument("row_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def replay_command(row_id: int, as_json: bool) -> None:
    """Run a stored inbound message through the pipeline again."""
    try:
        outcome = ingest.replay(_app(), row_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        _echo({"id": row_id, **outcome_dict(outcome)})
    else:
        click.echo(
            f"#{row_id}: {outcome.status}" + (f" ({outcome.reason})" if outcome.reason else "")
        )


COMMANDS: tuple[click.Command, ...] = (ingest_command, address_group, log_command, replay_command)
