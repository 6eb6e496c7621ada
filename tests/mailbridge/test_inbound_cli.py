"""`hiroba mail ingest|address|log|replay` as an admin runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask

from mailbridge.cli import mail_group
from tests.factories import make_channel, make_thread, make_user
from tests.mailbridge.test_ingest import mail


def run(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(mail_group, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_address_ingest_log_replay(app: Flask, session: Any, tmp_path: Path) -> None:
    make_user(session, email="buchou@corp.example", name="部長", email_only=True)
    peer = make_user(session, email="hanako@corp.example", name="花子")
    general = make_channel(session, slug="general", name="全社")
    thread_id = make_thread(session, channel=general, author=peer).thread_id
    session.commit()
    session.close()

    assert run(app, "address", "channel", "--channel", "General").strip() == "general@hub.test"
    addr = run(
        app, "address", "reply", "--thread", str(thread_id), "--member", "BUCHOU@corp.example"
    )
    addr = addr.strip()
    assert addr.startswith("reply+") and addr.endswith("@hub.test")

    eml = tmp_path / "reply.eml"
    body = (
        "了解です。\n\nOn Thu, Nov 26, 2026 at 10:00 AM Hanako <hanako@corp.example> wrote:\n> x\n"
    )
    eml.write_bytes(mail(frm="buchou@corp.example", to=addr, body=body, msgid="cli-1"))
    stranger = tmp_path / "stranger.eml"
    stranger.write_bytes(mail(frm="x@evil.example", to="general@hub.test", msgid="cli-2"))
    out = run(app, "ingest", "--json", str(eml), str(stranger))
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["status"] == "replied" and first["text"] == "了解です。"
    assert first["author"] == "buchou@corp.example" and first["thread_id"] == thread_id
    assert first["trimmed"] == (
        "On Thu, Nov 26, 2026 at 10:00 AM Hanako <hanako@corp.example> wrote:\n> x"
    )
    assert first["file"] == str(eml)
    assert set(first) >= {"file", "status", "reason", "thread_id", "post_id", "text", "trimmed"}
    assert (second["status"], second["reason"]) == ("rejected", "unknown_sender")

    log = json.loads(run(app, "log", "--json"))
    assert [e["status"] for e in log] == ["replied", "rejected"]  # newest last
    assert log[0]["message_id"] == "cli-1@client.example"
    assert {"id", "received_at", "source", "sender", "subject", "results"} <= set(log[0])
    only = json.loads(run(app, "log", "--json", "--status", "rejected", "--since", "1h"))
    assert [e["sender"] for e in only] == ["x@evil.example"]
    assert "replied" in run(app, "log")

    # The post exists already: it is never posted twice, and the log keeps what it became.
    done = app.test_cli_runner().invoke(mail_group, ["replay", str(log[0]["id"])])
    assert done.exit_code == 1 and "is done (replied): nothing to replay" in done.output
    assert [e["status"] for e in json.loads(run(app, "log", "--json"))] == ["replied", "rejected"]
    # A refused one is replayed (still refused: its sender is no member).
    replay = json.loads(run(app, "replay", "--json", str(log[1]["id"])))
    assert (replay["status"], replay["reason"]) == ("rejected", "unknown_sender")


def test_ingest_to_overrides_headers(app: Flask, session: Any, tmp_path: Path) -> None:
    make_user(session, email="hanako@corp.example", name="花子")
    make_channel(session, slug="general", name="全社")
    session.commit()
    session.close()
    eml = tmp_path / "new.eml"
    eml.write_bytes(mail(frm="hanako@corp.example", to="someone@corp.example", subject="お知らせ"))
    out = json.loads(run(app, "ingest", "--json", "--to", "general@hub.test", str(eml)))
    assert out["status"] == "posted" and out["thread_id"]
