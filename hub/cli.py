"""Admin commands of the hub: init, members, channels (mailbridge.cli assembles `hiroba`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.orm import Session

from hub import db, migrate
from hub.errors import HubError, Invalid, Reason
from hub.models import Via
from hub.services import (
    accounts,
    bounces,
    channel_creation,
    channel_settings,
    channels,
    member_import,
    members,
    onboarding,
)


@contextmanager
def cli_transaction() -> Iterator[Session]:
    """One transaction for a command; a domain refusal becomes a clear message and exit 1."""
    try:
        with db.transaction(current_app._get_current_object()) as session:  # type: ignore[attr-defined]
            yield session
    except HubError as exc:
        raise click.ClickException(_explain(exc)) from None


def _explain(exc: HubError) -> str:
    return exc.reason.value.replace("_", " ") + (f": {exc.detail}" if exc.detail else "")


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=None, default=str))


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database schema (Alembic migrations to head); without
    HIROBA_SECRET_KEY, make the signing key in the instance folder (kept for every later start)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    migrate.upgrade(db.engine_of(app))
    click.echo("database is at the newest schema")
    key_file = app.extensions.get("hiroba.secret_key_file")
    if key_file is not None:
        path, created = key_file
        made = "made a new signing key in" if created else "signing key in"
        click.echo(f"{made} {path} (keep it secret; HIROBA_SECRET_KEY would take its place)")


user_group = AppGroup(
    "user", help="Members: add, invite, list, import, deactivate, set-role, unbounce."
)


@user_group.command("add")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--email-only", is_flag=True, help="Takes part by mail only; needs no password.")
@click.option("--admin", is_flag=True)
@click.option("--locale", type=click.Choice(["ja", "en"]), default="ja")
@click.option("--timezone", default=None, help="e.g. Asia/Tokyo")
@click.option("--working-days", default=None, help="e.g. mon-fri or mon,wed,fri")
@click.option(
    "--working-hours", default=None, help="e.g. 09:00-18:00; 22:00-06:00 runs until 06:00 next day"
)
@click.option("--password", default=None, help="Prefer the sign-in link; for scripts only.")
@click.option(
    "--no-invite",
    is_flag=True,
    help="Add without mailing the invitation (send it later with 'user invite').",
)
def user_add(no_invite: bool, **kw: Any) -> None:
    """Add a member, in the channels every new member joins, and mail the invitation: a sign-in
    link for the web (no password needed), or for an email-only member how to take part by mail."""
    start = onboarding.start_from_config(current_app.config, invite=not no_invite)
    with cli_transaction() as session:
        user = onboarding.add_member(session, actor=None, start=start, **kw)
        click.echo(f"added member {user.id} {user.email}")
        click.echo(_invited(user.email_only, start))


def _invited(email_only: bool, start: onboarding.Start) -> str:
    """What the command says it mailed."""
    if not start.invite:
        return "  not invited yet (--no-invite): hiroba user invite EMAIL sends it"
    if email_only:
        return "  welcome mail queued: how to take part by mail (a member gets it only once)"
    return f"  invitation queued: a sign-in link that works once, for {start.link_days} days"


@user_group.command("invite")
@click.argument("emails", metavar="EMAIL...", nargs=-1, required=True)
def user_invite(emails: tuple[str, ...]) -> None:
    """Mail members their invitation (again): a fresh sign-in link for the web, or the welcome
    mail for an email-only member who has not had it."""
    start = onboarding.start_from_config(current_app.config)
    with cli_transaction() as session:
        for email in emails:
            user = accounts.find_user_by_email(session, email)
            if user is None:
                raise click.ClickException(f"no member with the address {email}")
            onboarding.invite(session, user, actor=None, days=start.link_days)
            click.echo(f"{user.email}:{_invited(user.email_only, start)[1:]}")


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def user_list(as_json: bool) -> None:
    """List members."""
    with cli_transaction() as session:
        rows = [accounts.user_as_dict(u) for u in accounts.list_users(session)]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        flags = " ".join(
            f
            for f, on in (
                ("admin", r["role"] == "admin"),
                ("email-only", r["email_only"]),
                ("inactive", not r["active"]),
                ("bouncing", r["bouncing"]),
            )
            if on
        )
        click.echo(f"{r['id']:>4}  {r['email']:<32} {r['name']}  {flags}")


@user_group.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and add nothing.")
@click.option("--no-invite", is_flag=True, help="Add without mailing the invitations.")
@click.option("--json", "as_json", is_flag=True)
def user_import(csv_file: Path, dry_run: bool, no_invite: bool, as_json: bool) -> None:
    """Add members from a CSV file with columns email,name[,email_only,locale,role,timezone,
    working_days,working_hours]; each joins the channels every new member joins and is
    invited as by 'user add'."""
    start = onboarding.start_from_config(current_app.config, invite=not no_invite)
    with cli_transaction() as session:
        rows = member_import.import_csv(
            session,
            member_import.decode_csv(csv_file.read_bytes()),
            dry_run=dry_run,
            start=start,
        )
    if as_json:
        echo_json([r.__dict__ for r in rows])
    else:
        for r in rows:
            state = "; ".join(r.errors) if r.errors else ("ok" if dry_run else "added")
            click.echo(f"line {r.line}: {r.email}: {state}")
    if any(r.errors for r in rows):
        sys.exit(1)


def _member_command(name: str, action: Callable[[Session, Any], Any], done: str, help: str) -> None:
    @user_group.command(name, help=help)
    @click.argument("email")
    def command(email: str) -> None:
        with cli_transaction() as session:
            user = accounts.find_user_by_email(session, email)
            if user is None:
                raise click.ClickException(f"no member with the address {email}")
            action(session, user)
            click.echo(f"{user.email}: {done}")


_member_command(
    "deactivate", accounts.deactivate, "deactivated",
    "Deactivate a member: they can no longer sign in or post, on the web or by mail.",
)  # fmt: skip
_member_command(
    "reactivate", accounts.reactivate, "reactivated",
    "Let a deactivated member sign in and post again.",
)  # fmt: skip


@user_group.command("unbounce")
@click.argument("email")
def user_unbounce(email: str) -> None:
    """Send a member mail again after their address bounced (once their mailbox works again:
    emptied, or the address fixed); their bounces count from now."""
    with cli_transaction() as session:
        user = accounts.find_user_by_email(session, email)
        if user is None:
            raise click.ClickException(f"no member with the address {email}")
        was = bounces.clear_bouncing(session, user, actor=None)
        click.echo(f"{user.email}: " + ("mail resumed" if was else "was not bouncing"))


@user_group.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(["member", "admin"]))
def user_set_role(email: str, role: str) -> None:
    """Make a member an admin, or an admin a member."""
    with cli_transaction() as session:
        user = accounts.find_user_by_email(session, email)
        if user is None:
            raise click.ClickException(f"no member with the address {email}")
        accounts.set_role(session, user, role)
        click.echo(f"{user.email}: {role}")


channel_group = AppGroup(
    "channel", help="Channels: add, list, edit, open, archive, unarchive, member."
)


@channel_group.command("add")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--purpose", required=True, help="What the channel is for, what belongs here.")
@click.option("--private", is_flag=True)
@click.option("--reason", default=None, help="Why it must be private (required with --private).")
@click.option("--social", is_flag=True, help="A home for chit-chat.")
@click.option(
    "--new-members-join", is_flag=True, help="Every member added from now on joins it (open only)."
)
def channel_add(
    slug: str,
    name: str,
    purpose: str,
    private: bool,
    reason: str | None,
    social: bool,
    new_members_join: bool,
) -> None:
    """Add a channel (open unless --private with a --reason)."""
    with cli_transaction() as session:
        channel = channel_creation.create_channel(
            session,
            slug=slug,
            name=name,
            purpose=purpose,
            private=private,
            reason=reason,
            kind="social" if social else "work",
            new_members_join=new_members_join,
        )
        domain = current_app.config["MAIL_DOMAIN"]
        click.echo(f"added channel {channel.slug}: {channel.slug}@{domain}")


@channel_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def channel_list(as_json: bool) -> None:
    """List channels."""
    with cli_transaction() as session:
        rows = [channels.channel_as_dict(session, c) for c in channels.list_channels(session)]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        tag = " (private)" if r["private"] else (" (social)" if r["kind"] == "social" else "")
        tag += " (archived)" if r["status"] == "archived" else ""
        tag += " (new members join)" if r["new_members_join"] else ""
        click.echo(f"{r['slug']:<20} {r['name']}{tag} — {r['purpose']}")


@channel_group.command("edit")
@click.argument("slug")
@click.option("--name", default=None)
@click.option("--purpose", default=None, help="What the channel is for, what belongs here.")
@click.option("--kind", type=click.Choice(["work", "social"]), default=None)
@click.option(
    "--new-members-join/--no-new-members-join",
    default=None,
    help="Whether every member added from now on joins it (open channels only).",
)
def channel_edit(
    slug: str,
    name: str | None,
    purpose: str | None,
    kind: str | None,
    new_members_join: bool | None,
) -> None:
    """Change a channel's name, purpose or kind (its address, the slug, stays), or whether
    every new member joins it."""
    if name is None and purpose is None and kind is None and new_members_join is None:
        raise click.UsageError(
            "say what to change: --name, --purpose or --kind (or --[no-]new-members-join)"
        )
    with cli_transaction() as session:
        channel = channels.get_channel(session, slug)
        changed = channel_settings.update_channel(
            session, channel=channel, actor=None, via=Via.CLI, name=name, purpose=purpose, kind=kind
        )
        if new_members_join is not None and new_members_join != channel.new_members_join:
            channel_settings.set_new_members_join(
                session, channel=channel, actor=None, via=Via.CLI, join=new_members_join
            )
            changed.append("new_members_join")
        click.echo(f"{channel.slug}: {', '.join(changed) or 'nothing'} changed")


def _channel_command(name: str, action: Callable[..., None], done: str, doc: str) -> None:
    @channel_group.command(name, help=doc)
    @click.argument("slug")
    def command(slug: str) -> None:
        with cli_transaction() as session:
            channel = channels.get_channel(session, slug)
            action(session, channel=channel, actor=None, via=Via.CLI)
            click.echo(f"{channel.slug}: {done}")


_channel_command(
    "open", channel_settings.open_channel, "open to everyone",
    "Open a private channel: everyone may read all of it and join; its members stay.",
)  # fmt: skip
_channel_command(
    "archive", channel_settings.archive_channel, "archived",
    "Archive a channel: still readable, no new posts by web or mail.",
)  # fmt: skip
_channel_command(
    "unarchive", channel_settings.unarchive_channel, "takes posts again",
    "Let an archived channel take posts again.",
)  # fmt: skip


member_group = AppGroup("member", help="Who belongs to a channel: add, remove, list, set-role.")
channel_group.add_command(member_group)


@member_group.command("add")
@click.argument("slug")
@click.argument("emails", metavar="EMAIL...", nargs=-1, required=True)
def member_add(slug: str, emails: tuple[str, ...]) -> None:
    """Add members to a channel; each hears of it by mail. Someone already in is left as is;
    an unknown or deactivated address adds nobody at all (exit 1)."""
    refused: list[str] = []
    with cli_transaction() as session:
        channel = channels.get_channel(session, slug)
        for email in emails:
            try:
                members.add_member_by_email(
                    session, channel=channel, email=email, actor=None, via=Via.CLI
                )
            except Invalid as exc:
                if exc.reason == Reason.ALREADY_DONE:
                    click.echo(f"{email}: already a member of {channel.slug}")
                    continue
                refused.append(f"{email}: {_explain(exc)}")
            else:
                click.echo(f"{email}: added to {channel.slug}")
        if refused:
            raise click.ClickException(
                "nobody was added:\n" + "\n".join(f"  {line}" for line in refused)
            )


@member_group.command("remove")
@click.argument("slug")
@click.argument("email")
def member_remove(slug: str, email: str) -> None:
    """Take a member out of a channel (a private one is then gone for them)."""
    with cli_transaction() as session:
        channel = channels.get_channel(session, slug)
        user = accounts.find_user_by_email(session, email)
        if user is None:
            raise click.ClickException(f"no member with the address {email}")
        members.remove_member(session, user=user, channel=channel, actor=None, via=Via.CLI)
        click.echo(f"{user.email}: removed from {channel.slug}")


@member_group.command("set-role")
@click.argument("slug")
@click.argument("email")
@click.argument("role", type=click.Choice(channels.ROLES))
def member_set_role(slug: str, email: str, role: str) -> None:
    """Make a member an owner of a channel, or an owner a plain member (the last owner stays)."""
    with cli_transaction() as session:
        channel = channels.get_channel(session, slug)
        user = accounts.find_user_by_email(session, email)
        if user is None:
            raise click.ClickException(f"no member with the address {email}")
        changed = members.set_role(
            session, user=user, channel=channel, role=role, actor=None, via=Via.CLI
        )
        click.echo(f"{user.email}: {role} of {channel.slug}{'' if changed else ' already'}")


@member_group.command("list")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True)
def member_list(slug: str, as_json: bool) -> None:
    """List a channel's active members and their role (owner or member)."""
    with cli_transaction() as session:
        channel = channels.get_channel(session, slug)
        rows = [members.member_as_dict(m) for m in members.list_members(session, channel)]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['email']:<32} {r['name']}  {r['role']}")


@click.command("demo")
@with_appcontext
@click.option("--password", default=None, help="The demo sign-in password (else generated).")
def demo_command(password: str | None) -> None:
    """Load a demo company (株式会社ひろば商事) into an empty hub and print how to sign in."""
    from hub import demo

    try:
        with cli_transaction() as session:
            result = demo.load(session, password=password)
            slugs = [(c.slug, c.name, c.private) for c in result.channels]
            managers = [(u.email, u.name) for u in accounts.list_users(session) if u.email_only]
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    cfg = current_app.config
    click.echo("demo data loaded" if result.created else "demo data was already there")
    click.echo(f"open:      {cfg['BASE_URL']}/")
    click.echo(f"admin:     {result.admin_email}")
    click.echo(f"password:  {result.password}  (the other web members use it too)")
    click.echo("channel addresses (mail a new thread to them):")
    for slug, name, private in slugs:
        address = f"{slug}@{cfg['MAIL_DOMAIN']}"
        click.echo(f"  {address:<34} {name}{' (private)' if private else ''}")
    click.echo(f"SMTP intake: {cfg['SMTP_HOST']}:{cfg['SMTP_PORT']}  (swaks, mutt, or any client)")
    click.echo("email-only managers (send as them; their mail is in the catcher):")
    for email, name in managers:
        click.echo(f"  {email:<34} {name}")
    click.echo(f"mail catcher: {cfg['BASE_URL']}/admin/mail/caught  (reply as the recipient there)")


COMMANDS: tuple[click.Command, ...] = (init_command, user_group, channel_group, demo_command)
