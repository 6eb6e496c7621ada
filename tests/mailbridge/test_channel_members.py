"""`hiroba channel member add|remove|list`, and the mail a member gets when someone adds them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo

from hub import db
from hub.models import Via
from hub.services import accounts, channels, members
from mailbridge.cli import main
from tests.conftest import japanese_app
from tests.factories import PASSWORD, make_channel, make_thread, make_user
from tests.fixtures_mailout import deliver, text_of, to


def hiroba(app: Flask, *args: str) -> Any:
    """Run `hiroba channel member ...` as an admin's script does."""
    return CliRunner().invoke(
        main, ["channel", "member", *args], obj=ScriptInfo(create_app=lambda: app)
    )


def member_emails(app: Flask, slug: str) -> set[str]:
    with db.transaction(app) as s:
        channel = channels.get_channel(s, slug)
        return {m.user.email for m in members.list_members(s, channel)}


def arrange(app: Flask, **carol: Any) -> None:
    """Alice owns the private channel jinji (Bob is in it); Carol is outside; sales is open."""
    with db.transaction(app) as s:
        alice = make_user(s, email="alice@corp.example", name="Alice")
        bob = make_user(s, email="bob@corp.example", name="Bob")
        make_user(s, email="carol@corp.example", name="Carol", **carol)
        make_user(s, email="dave@corp.example", name="Dave")
        jinji = make_channel(
            s, slug="jinji", name="人事", purpose="評価と採用の相談", private=True,
            reason="個人情報", creator=alice, policy="anyone",
        )  # fmt: skip
        channels.add_member(s, user=bob, channel=jinji, actor=None)
        make_channel(s, slug="sales", name="営業", creator=alice)


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_adds_lists_and_removes(app):
    arrange(app)
    r = hiroba(app, "add", "jinji", "carol@corp.example", "BOB@corp.example")
    assert r.exit_code == 0, r.output
    assert "carol@corp.example: added to jinji" in r.output
    assert "BOB@corp.example: already a member of jinji" in r.output
    r = hiroba(app, "list", "jinji", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [(row["email"], row["role"]) for row in rows] == [
        ("alice@corp.example", "owner"),
        ("bob@corp.example", "member"),
        ("carol@corp.example", "member"),
    ]
    text = hiroba(app, "list", "jinji").output
    assert "alice@corp.example" in text and "owner" in text

    r = hiroba(app, "remove", "jinji", "bob@corp.example")
    assert r.exit_code == 0 and "bob@corp.example: removed from jinji" in r.output
    assert member_emails(app, "jinji") == {"alice@corp.example", "carol@corp.example"}


def test_cli_adds_nobody_when_an_address_is_refused(app):
    arrange(app)
    with db.transaction(app) as s:
        accounts.deactivate(s, accounts.find_user_by_email(s, "dave@corp.example"))
    r = hiroba(
        app, "add", "jinji", "carol@corp.example", "nobody@corp.example", "dave@corp.example"
    )
    assert r.exit_code == 1
    assert "nobody was added" in r.output
    assert "nobody@corp.example: unknown address" in r.output
    assert "dave@corp.example: inactive member" in r.output
    assert member_emails(app, "jinji") == {"alice@corp.example", "bob@corp.example"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("remove", "jinji", "alice@corp.example"), "last owner"),
        (("remove", "jinji", "carol@corp.example"), "not a member"),
        (("remove", "jinji", "nobody@corp.example"), "no member with the address"),
        (("add", "nowhere", "carol@corp.example"), "not found: channel nowhere"),
        (("list", "nowhere"), "not found: channel nowhere"),
    ],
)
def test_cli_refusals_exit_1_with_the_reason(app, args, message):
    arrange(app)
    r = hiroba(app, *args)
    assert r.exit_code == 1 and message in r.output
    assert member_emails(app, "jinji") == {"alice@corp.example", "bob@corp.example"}


# --- the mail --------------------------------------------------------------------------------


def test_a_member_added_on_the_web_hears_of_it_and_joiners_do_not(app, smtp_sink):
    app.config["RELAY_URL"] = smtp_sink.url
    arrange(app)
    alice = app.test_client()
    alice.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    alice.post("/login", data={"email": "alice@corp.example", "password": PASSWORD})
    assert alice.post("/c/jinji/members", data={"email": "carol@corp.example"}).status_code == 303
    # Joining an open channel oneself, or by a first post there, sends no such mail.
    dave = app.test_client()
    dave.post("/login", data={"email": "dave@corp.example", "password": PASSWORD})
    assert dave.post("/c/sales/join").status_code == 303
    with db.transaction(app) as s:
        bob = accounts.find_user_by_email(s, "bob@corp.example")
        make_thread(s, channel=channels.get_channel(s, "sales"), author=bob, title="見積")
    deliver(app)

    mails = to(smtp_sink, "carol@corp.example")
    assert len(mails) == 1
    msg = mails[0]
    assert msg["Subject"] == "Alice added you to 人事"
    body = text_of(msg)
    assert "Alice added you to the channel 人事." in body
    assert "private channel" in body and "評価と採用の相談" in body
    assert "jinji@hub.test" in body and "http://hub.test/c/jinji" in body
    others = to(smtp_sink, "dave@corp.example") + to(smtp_sink, "bob@corp.example")
    assert [m["Subject"] for m in others if "added you" in m["Subject"]] == []
    # The fan-out ran to its end: a second round sends nothing again.
    deliver(app)
    assert len(to(smtp_sink, "carol@corp.example")) == 1


def test_someone_removed_before_the_mail_is_written_gets_none(app, smtp_sink):
    app.config["RELAY_URL"] = smtp_sink.url
    arrange(app)
    assert hiroba(app, "add", "jinji", "carol@corp.example").exit_code == 0
    assert hiroba(app, "remove", "jinji", "carol@corp.example").exit_code == 0
    assert hiroba(app, "add", "jinji", "dave@corp.example").exit_code == 0
    deliver(app)
    assert to(smtp_sink, "carol@corp.example") == []
    assert len(to(smtp_sink, "dave@corp.example")) == 1


@pytest.fixture
def ja_app(database_url: str, tmp_path: Path, smtp_sink: Any) -> Iterator[Flask]:
    with japanese_app(database_url, tmp_path, RELAY_URL=smtp_sink.url) as app:
        yield app


def test_the_mail_is_in_the_members_language(ja_app, smtp_sink):
    arrange(ja_app, locale="ja")
    assert hiroba(ja_app, "add", "jinji", "carol@corp.example", "dave@corp.example").exit_code == 0
    with db.transaction(ja_app) as s:
        alice = accounts.find_user_by_email(s, "alice@corp.example")
        keiri = make_channel(
            s, slug="keiri", name="経理", private=True, reason="給与", creator=alice,
            policy="anyone",
        )  # fmt: skip
        members.add_member_by_email(
            s, channel=keiri, email="carol@corp.example", actor=alice, via=Via.WEB
        )
    deliver(ja_app)
    subjects = sorted(m["Subject"] for m in to(smtp_sink, "carol@corp.example"))
    assert subjects == [
        "Aliceさんがあなたを「経理」に追加しました",
        "チャンネル「人事」に追加されました",
    ]
    by_cli = next(m for m in to(smtp_sink, "carol@corp.example") if "人事" in m["Subject"])
    body = text_of(by_cli)
    assert "管理者があなたをチャンネル「人事」に追加しました。" in body
    assert "非公開チャンネルです" in body and "jinji@hub.test" in body
    # Dave reads English: same event, his own language.
    assert [m["Subject"] for m in to(smtp_sink, "dave@corp.example")] == ["You were added to 人事"]
