"""`hiroba mail log` lists what the hub mailed back about each inbound message, as the admin's
page of the message does: the answer to a help@ command, the explanation of a refused reply
(none for a stranger's mail), waiting and then sent through a real relay. Through the CLI, with
the web page of each message read alongside; SQLite and PostgreSQL."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from flask import Flask

from hub.models import Via
from hub.services import channel_settings
from mailbridge import delivery
from mailbridge.cli import mail_group
from tests.factories import make_channel, make_thread, make_user, signed_in
from tests.fixtures_mailout import to
from tests.mailbridge.test_ingest import mail, reply_address

BOSS, ADMIN = "buchou@corp.example", "admin@corp.example"


def run(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(mail_group, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def ingest(app: Flask, tmp_path: Path, name: str, raw: bytes) -> None:
    eml = tmp_path / f"{name}.eml"
    eml.write_bytes(raw)
    run(app, "ingest", str(eml))


def test_the_log_lists_the_mail_sent_back(
    app: Flask, session: Any, smtp_sink: Any, tmp_path: Path
) -> None:
    make_user(session, email=ADMIN, name="管理者", admin=True)
    boss = make_user(session, email=BOSS, name="部長", email_only=True, locale="ja")
    peer = make_user(session, email="hanako@corp.example", name="花子")
    general = make_channel(session, slug="general", name="全社")
    make_thread(session, channel=general, author=peer, title="予算")
    old = make_channel(session, slug="kyu-soumu", name="旧総務")
    old_thread = make_thread(session, channel=old, author=peer, title="備品").thread_id
    channel_settings.archive_channel(session, channel=old, actor=None, via=Via.WEB)
    session.commit()
    to_old = reply_address(app, boss, old_thread)
    session.close()

    ingest(app, tmp_path, "help", mail(frm=BOSS, to="help@hub.test", subject="digest weekly",
                                       body="digest weekly", msgid="a1"))  # fmt: skip
    # A reply in an archived channel: refused, and the boss is told why.
    ingest(app, tmp_path, "archived", mail(frm=BOSS, to=to_old, msgid="a2"))
    ingest(app, tmp_path, "stranger", mail(frm="x@evil.example", to="general@hub.test",
                                           msgid="a3"))  # fmt: skip

    waiting = json.loads(run(app, "log", "--json"))
    assert [e["status"] for e in waiting] == ["command", "rejected", "rejected"]
    assert [[(a["kind"], a["status"]) for a in e["answers"]] for e in waiting] == [
        [("command", "pending")],
        [("refusal", "pending")],
        [],
    ]

    app.config["RELAY_URL"] = smtp_sink.url
    delivery.drain_outbox(app)
    command_answer, refusal = to(smtp_sink, BOSS)
    log = json.loads(run(app, "log", "--json"))
    (answered,), (explained,), none = (e["answers"] for e in log)
    assert none == []
    for entry, got in ((answered, command_answer), (explained, refusal)):
        assert entry["subject"] == str(got["Subject"])
        assert (entry["to"], entry["status"], entry["last_error"]) == (BOSS, "sent", None)
        assert entry["sent_at"] and entry["created_at"]
    assert (answered["kind"], explained["kind"]) == ("command", "refusal")

    # The same as the page of each message says.
    admin = signed_in(app, ADMIN)
    for entry in log:
        page = admin.get(f"/admin/mail/{entry['id']}").text
        for answer in entry["answers"]:
            assert escape(answer["subject"]) in page and "sent on" in page
        if not entry["answers"]:
            assert 'id="answers"' not in page

    # The listing shows them under their message.
    lines = run(app, "log").splitlines()
    assert lines[0].startswith(f"#{log[0]['id']} ") and " command " in lines[0]
    assert lines[1] == f"    -> command sent {answered['sent_at'][:19]} {answered['subject']!r}"
    assert lines[2].startswith(f"#{log[1]['id']} ")
    assert lines[3].startswith("    -> refusal sent ")
    assert lines[4].startswith(f"#{log[2]['id']} ") and len(lines) == 5
