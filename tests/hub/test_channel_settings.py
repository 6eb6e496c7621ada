"""Changing a channel after it was made (hub.services.channel_settings and `hiroba channel
edit|open|archive|unarchive`): its owners and the admins change the name, purpose and kind,
open a private channel to everyone, archive and unarchive; each change leaves an event row."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select

from hub import db, permissions
from hub.errors import Forbidden, Invalid, Reason
from hub.models import ChannelStatus, Event, Via
from hub.services import (
    accounts,
    announcements,
    channel_settings,
    channels,
    search,
    thread_pages,
    threads,
)
from mailbridge.cli import main
from tests.factories import make_channel, make_thread, make_user


@pytest.fixture
def team(app: Flask) -> None:
    """Alice owns the private channel jinji (Bob is in it, with a thread); Carol is outside; Ada
    is an admin in no channel; Bob owns the open channel sales, where Carol is a plain member."""
    with db.transaction(app) as s:
        alice = make_user(s, email="alice@corp.example", name="Alice")
        bob = make_user(s, email="bob@corp.example", name="Bob")
        carol = make_user(s, email="carol@corp.example", name="Carol")
        make_user(s, email="ada@corp.example", name="Ada", admin=True)
        jinji = make_channel(
            s, slug="jinji", name="人事", purpose="評価と採用", private=True, reason="個人情報",
            creator=alice, policy="anyone",
        )  # fmt: skip
        channels.add_member(s, user=bob, channel=jinji, actor=None)
        make_thread(s, channel=jinji, author=bob, title="評価面談", body="面談の日程です")
        sales = make_channel(s, slug="sales", name="営業", purpose="案件の共有", creator=bob)
        channels.join(s, user=carol, channel=sales)
        make_thread(s, channel=sales, author=carol, title="見積", body="見積の相談です")


def who(s: Any, local: str) -> Any:
    return accounts.find_user_by_email(s, f"{local}@corp.example")


def events(s: Any, kind: str) -> list[Event]:
    return list(s.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


# --- name, purpose, kind ----------------------------------------------------------------------


def test_owner_changes_name_purpose_and_kind_and_the_event_keeps_the_old_values(app, team):
    with db.transaction(app) as s:
        sales = channels.get_channel(s, "sales")
        changed = channel_settings.update_channel(
            s, channel=sales, actor=who(s, "bob"), via=Via.WEB, name=" 営業部 ",
            purpose=" 案件と見積の共有 ", kind="social",
        )  # fmt: skip
        assert changed == ["name", "purpose", "kind"]
    with db.transaction(app) as s:
        sales = channels.get_channel(s, "sales")
        assert (sales.slug, sales.name, sales.purpose, sales.kind) == (
            "sales", "営業部", "案件と見積の共有", "social",
        )  # fmt: skip
        (event,) = events(s, "channel_updated")
        assert event.actor_id == who(s, "bob").id and event.channel_id == sales.id
        assert event.data == {
            "changed": {
                "name": ["営業", "営業部"],
                "purpose": ["案件の共有", "案件と見積の共有"],
                "kind": ["work", "social"],
            },
            "via": "web",
        }


def test_saving_what_is_there_changes_nothing_and_records_nothing(app, team):
    with db.transaction(app) as s:
        sales = channels.get_channel(s, "sales")
        assert (
            channel_settings.update_channel(
                s,
                channel=sales,
                actor=who(s, "bob"),
                via=Via.WEB,
                name="営業",
                purpose="案件の共有",
                kind="work",
            )  # fmt: skip
            == []
        )
        assert events(s, "channel_updated") == []


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"purpose": "  "}, Reason.PURPOSE_REQUIRED),
        ({"name": ""}, Reason.INVALID_VALUE),
        ({"name": "x" * 201}, Reason.INVALID_VALUE),
        ({"kind": "chat"}, Reason.INVALID_VALUE),
    ],
)
def test_a_channel_keeps_a_name_a_purpose_and_a_known_kind(app, team, fields, reason):
    with db.transaction(app) as s:
        sales = channels.get_channel(s, "sales")
        with pytest.raises(Invalid) as refused:
            channel_settings.update_channel(
                s, channel=sales, actor=who(s, "bob"), via=Via.WEB, **fields
            )
        assert refused.value.reason == reason
        assert (sales.name, sales.purpose, sales.kind) == ("営業", "案件の共有", "work")


def test_owners_and_admins_may_change_a_channel_and_nobody_else(app, team):
    with db.transaction(app) as s:
        jinji, sales = channels.get_channel(s, "jinji"), channels.get_channel(s, "sales")
        allowed = {
            (local, c.slug)
            for local in ("alice", "bob", "carol", "ada")
            for c in (jinji, sales)
            if channel_settings.can_change(s, who(s, local), c)
        }
        # Bob is a plain member of jinji, Carol of sales; Ada is an admin in neither.
        assert allowed == {("alice", "jinji"), ("bob", "sales"), ("ada", "jinji"), ("ada", "sales")}
        assert channel_settings.can_change(s, None, jinji)  # the admin CLI
        for change in (
            lambda: channel_settings.update_channel(
                s, channel=sales, actor=who(s, "carol"), via=Via.WEB, purpose="乗っ取り"
            ),
            lambda: channel_settings.open_channel(
                s, channel=jinji, actor=who(s, "bob"), via=Via.WEB
            ),
            lambda: channel_settings.archive_channel(
                s, channel=sales, actor=who(s, "carol"), via=Via.WEB
            ),
        ):
            with pytest.raises(Forbidden):
                change()
        assert (sales.purpose, jinji.private, sales.status) == ("案件の共有", True, "active")
        # A deactivated owner changes nothing either.
        accounts.deactivate(s, who(s, "bob"))
        assert not channel_settings.can_change(s, who(s, "bob"), sales)


# --- open -------------------------------------------------------------------------------------


def test_opening_a_private_channel_shows_everything_to_everyone_and_keeps_its_members(app, team):
    with db.transaction(app) as s:
        carol = who(s, "carol")
        jinji = channels.get_channel(s, "jinji")
        assert not permissions.can_read(s, carol, jinji)
        assert search.search(s, carol, "面談") == []
        channel_settings.open_channel(s, channel=jinji, actor=who(s, "alice"), via=Via.WEB)
    with db.transaction(app) as s:
        carol, jinji = who(s, "carol"), channels.get_channel(s, "jinji")
        assert (jinji.private, jinji.private_reason) == (False, None)
        assert permissions.can_read(s, carol, jinji)
        assert [h.thread_title for h in search.search(s, carol, "面談")] == ["評価面談"]
        assert {u.email for u in channels.members_of(s, jinji)} == {
            "alice@corp.example", "bob@corp.example",
        }  # fmt: skip
        channels.join(s, user=carol, channel=jinji)
        (event,) = events(s, "channel_opened")
        assert event.actor_id == who(s, "alice").id
        assert event.data == {"private_reason": "個人情報", "via": "web"}
        # Open already: said so, nothing recorded twice.
        with pytest.raises(Invalid) as refused:
            channel_settings.open_channel(s, channel=jinji, actor=who(s, "alice"), via=Via.WEB)
        assert refused.value.reason == Reason.ALREADY_DONE
        assert len(events(s, "channel_opened")) == 1


def test_a_request_waiting_for_approval_is_neither_opened_nor_archived(app, team):
    with db.transaction(app) as s:
        carol = who(s, "carol")
        asked = make_channel(
            s, slug="plan", name="計画", private=True, reason="未発表", creator=carol,
            policy="approval",
        )  # fmt: skip
        assert asked.status == ChannelStatus.PENDING
        for change in (channel_settings.open_channel, channel_settings.archive_channel):
            with pytest.raises(Invalid) as refused:
                change(s, channel=asked, actor=carol, via=Via.WEB)
            assert refused.value.reason == Reason.INVALID_VALUE
        # Its requester may still say better what it is for while waiting.
        assert channel_settings.update_channel(
            s, channel=asked, actor=carol, via=Via.WEB, purpose="来期の計画"
        ) == ["purpose"]
        assert (asked.private, asked.status) == (True, ChannelStatus.PENDING)


# --- archive ----------------------------------------------------------------------------------


def test_an_archived_channel_stays_readable_and_takes_no_posts_until_unarchived(app, team):
    with db.transaction(app) as s:
        sales = channels.get_channel(s, "sales")
        channel_settings.archive_channel(s, channel=sales, actor=who(s, "bob"), via=Via.CLI)
    with db.transaction(app) as s:
        carol, sales = who(s, "carol"), channels.get_channel(s, "sales")
        outsider = who(s, "alice")
        assert sales.status == ChannelStatus.ARCHIVED
        assert permissions.can_read(s, outsider, sales) and permissions.can_read(s, carol, sales)
        assert [h.thread_title for h in search.search(s, outsider, "見積")] == ["見積"]
        thread = thread_pages.list_threads(s, sales)[0]
        with pytest.raises(Forbidden) as refused:
            threads.reply(s, author=carol, thread=thread, body="まだ書けますか", via=Via.WEB)
        assert refused.value.reason == Reason.CHANNEL_ARCHIVED
        with pytest.raises(Forbidden) as refused:
            threads.start_thread(s, author=carol, channel=sales, title="t", body="b", via=Via.EMAIL)
        assert refused.value.reason == Reason.CHANNEL_ARCHIVED
        with pytest.raises(Invalid) as again:
            channel_settings.archive_channel(s, channel=sales, actor=who(s, "bob"), via=Via.WEB)
        assert again.value.reason == Reason.ALREADY_DONE
        # Listed after every live channel, social ones included.
        make_channel(s, slug="zatsudan", name="雑談", kind="social")
        assert [c.slug for c in channels.list_channels(s, viewer=carol)] == ["zatsudan", "sales"]

        channel_settings.unarchive_channel(s, channel=sales, actor=who(s, "ada"), via=Via.WEB)
        threads.reply(s, author=carol, thread=thread, body="再開ですね", via=Via.WEB)
        with pytest.raises(Invalid) as again:
            channel_settings.unarchive_channel(s, channel=sales, actor=who(s, "bob"), via=Via.WEB)
        assert again.value.reason == Reason.ALREADY_DONE
        archived, unarchived = events(s, "channel_archived"), events(s, "channel_unarchived")
        assert [(e.actor_id, e.data) for e in archived] == [(who(s, "bob").id, {"via": "cli"})]
        assert [(e.actor_id, e.data) for e in unarchived] == [(who(s, "ada").id, {"via": "web"})]


def test_the_announcement_channel_is_not_archived(app, team):
    with db.transaction(app) as s:
        channel = announcements.announcement_channel(s)
        s.flush()
        assert not channel_settings.archivable(channel)
        with pytest.raises(Forbidden):
            channel_settings.archive_channel(s, channel=channel, actor=who(s, "ada"), via=Via.WEB)
        assert channel.status == ChannelStatus.ACTIVE
        # Its name and purpose are the admins' to change.
        assert channel_settings.update_channel(
            s, channel=channel, actor=who(s, "ada"), via=Via.WEB, name="社内のお知らせ"
        ) == ["name"]


# --- the CLI ----------------------------------------------------------------------------------


CHANGES = ("channel_updated", "channel_opened", "channel_archived", "channel_unarchived")


def hiroba(app: Flask, *args: str) -> Any:
    """Run `hiroba channel ...` as an admin's script does."""
    return CliRunner().invoke(main, ["channel", *args], obj=ScriptInfo(create_app=lambda: app))


def state(app: Flask, slug: str) -> tuple[str, str, str, bool, str]:
    with db.transaction(app) as s:
        c = channels.get_channel(s, slug)
        return c.name, c.purpose, str(c.kind), c.private, str(c.status)


def test_cli_edits_opens_archives_and_unarchives(app, team):
    r = hiroba(app, "edit", "SALES", "--purpose", "案件と見積の共有", "--kind", "social")
    assert r.exit_code == 0, r.output
    assert r.output == "sales: purpose, kind changed\n"
    r = hiroba(app, "edit", "sales", "--name", "営業")
    assert r.exit_code == 0 and r.output == "sales: nothing changed\n"
    assert state(app, "sales") == ("営業", "案件と見積の共有", "social", False, "active")

    r = hiroba(app, "open", "jinji")
    assert r.exit_code == 0 and r.output == "jinji: open to everyone\n"
    assert state(app, "jinji")[3:] == (False, "active")

    r = hiroba(app, "archive", "sales")
    assert r.exit_code == 0 and r.output == "sales: archived\n"
    listed = json.loads(hiroba(app, "list", "--json").output)
    assert [(c["slug"], c["status"]) for c in listed] == [
        ("jinji", "active"),
        ("sales", "archived"),
    ]
    assert "sales                営業 (social) (archived)" in hiroba(app, "list").output

    r = hiroba(app, "unarchive", "sales")
    assert r.exit_code == 0 and r.output == "sales: takes posts again\n"
    assert state(app, "sales")[4] == "active"
    with db.transaction(app) as s:
        mine = s.scalars(select(Event).where(Event.kind.in_(CHANGES)).order_by(Event.id))
        assert [(e.kind, e.actor_id, e.data.get("via")) for e in mine] == [
            ("channel_updated", None, "cli"),
            ("channel_opened", None, "cli"),
            ("channel_archived", None, "cli"),
            ("channel_unarchived", None, "cli"),
        ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("edit", "sales"), "say what to change: --name, --purpose or --kind"),
        (("edit", "sales", "--purpose", " "), "purpose required"),
        (("edit", "sales", "--kind", "chat"), "'chat' is not one of 'work', 'social'"),
        (("edit", "nowhere", "--name", "x"), "not found: channel nowhere"),
        (("open", "sales"), "already done: sales is open"),
        (("unarchive", "sales"), "already done: sales is not archived"),
        (("archive", "nowhere"), "not found: channel nowhere"),
    ],
)
def test_cli_refusals_exit_non_zero_and_change_nothing(app, team, args, message):
    r = hiroba(app, *args)
    assert r.exit_code != 0 and message in r.output, r.output
    assert state(app, "sales") == ("営業", "案件の共有", "work", False, "active")


def test_cli_help_lists_the_new_commands(app):
    out = hiroba(app, "--help").output
    for name in ("edit", "open", "archive", "unarchive"):
        assert f"  {name} " in out
