"""`hiroba announcement` commands: publish, status, remind (and the rules page)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from hub.cli import cli_transaction, echo_json
from hub.services import acknowledgements, announcements, channels, rules

announcement_group = AppGroup("announcement", help="Purpose announcements: publish, status.")


@announcement_group.command("publish")
@click.option("--title", required=True)
@click.option("--body-file", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--ack", is_flag=True, help="Everyone must acknowledge it.")
@click.option("--urgent", is_flag=True, help="Passes quiet hours.")
@click.option("--channel", "slugs", multiple=True, help="Only members of this channel.")
@click.option("--remind-every-days", type=int, default=0, help="Automatic reminders (0 = none).")
def publish(
    title: str, body_file: str, ack: bool, urgent: bool, slugs: tuple[str, ...],
    remind_every_days: int,
) -> None:  # fmt: skip
    """Publish an announcement to everyone (or the members of --channel)."""
    body = Path(body_file).read_text(encoding="utf-8")
    with cli_transaction() as session:
        ids = [channels.get_channel(session, s).id for s in slugs]
        item = announcements.publish(
            session, author=None, title=title, body=body, ack_required=ack, urgent=urgent,
            channel_ids=ids, remind_every_days=remind_every_days,
            locale=current_app.config["BABEL_DEFAULT_LOCALE"],
        )  # fmt: skip
        count = len(announcements.audience(session, item))
        aid = item.id
    click.echo(f"{aid} published to {count} members")


@announcement_group.command("status")
@click.argument("announcement_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def status(announcement_id: int, as_json: bool) -> None:
    """Who has acknowledged (how and when) and who has not."""
    with cli_transaction() as session:
        data = acknowledgements.status(session, announcements.get(session, announcement_id))
    if as_json:
        echo_json(data)
        return
    click.echo(f"#{data['id']} {data['title']} (version {data['version']})")
    for row in data["acknowledged"]:
        words = f" 「{row['words']}」" if row["words"] else ""
        click.echo(f"  ✓ {row['email']} {row['via']} {row['when']}{words}")
    for row in data["not_acknowledged"]:
        click.echo(f"  - {row['email']}")
    done, left = len(data["acknowledged"]), len(data["not_acknowledged"])
    click.echo(f"{done} of {done + left} acknowledged")


@announcement_group.command("remind")
@click.argument("announcement_id", type=int)
def remind(announcement_id: int) -> None:
    """Remind those who have not acknowledged."""
    with cli_transaction() as session:
        item = announcements.get(session, announcement_id)
        pending = acknowledgements.remind(session, announcement=item, actor=None)
    click.echo(f"reminded {len(pending)} members")


@announcement_group.command("list")
def list_command() -> None:
    """List announcements, newest first."""
    with cli_transaction() as session:
        for item in announcements.list_announcements(session):
            data = acknowledgements.status(session, item)
            click.echo(f"{item.id}\t{item.title}\t{data['rate']:.0%}")


rules_group = AppGroup("rules", help="The usage-rules page.")


@rules_group.command("set")
@click.option("--file", "path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--ask-again", is_flag=True, help="Ask everyone to accept the new rules again.")
def rules_set(path: str, ask_again: bool) -> None:
    """Replace the usage-rules page with a Markdown file."""
    text = Path(path).read_text(encoding="utf-8")
    with cli_transaction() as session:
        version = rules.set_rules(session, actor=None, markdown=text, ask_again=ask_again)
    again = ": everyone is asked to accept them again" if ask_again else ""
    click.echo(f"rules updated (version {version}){again}")


COMMANDS: tuple[click.Command, ...] = (announcement_group, rules_group)
