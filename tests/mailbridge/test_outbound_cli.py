"""`hiroba mail digest|outbox|flush` as an admin (or cron) runs them."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner
from flask.cli import ScriptInfo

from hub.models import Via
from hub.services import threads
from mailbridge.cli import main
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import text_of, to


def run(app: Any, *args: str) -> Any:
    result = CliRunner().invoke(main, ["mail", *args], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    return result


def test_digest_preview_now_outbox_flush(app, session, smtp_sink):
    app.config["RELAY_URL"] = smtp_sink.url
    make_user(session, email="boss@corp.example", name="部長", email_only=True)
    peer = make_user(session, email="peer@corp.example")
    ch = make_channel(session, slug="general", name="全社", purpose="連絡")
    post = make_thread(session, channel=ch, author=peer, title="予算", body="案")
    threads.reply(session, author=peer, thread=post.thread, body="追記", via=Via.WEB)
    session.commit()
    preview = run(app, "digest", "--member", "BOSS@corp.example", "--preview").output
    assert "[#" in preview and "予算" in preview
    assert json.loads(run(app, "outbox", "--json", "--status", "pending").output) == []
    run(app, "digest", "--member", "boss@corp.example", "--now")
    pending = json.loads(run(app, "outbox", "--json", "--status", "pending").output)
    assert [r["kind"] for r in pending if r["to"] == "boss@corp.example"] == ["digest"]
    out = run(app, "flush").output
    assert "delivered" in out
    digest = [m for m in to(smtp_sink, "boss@corp.example") if "予算" in text_of(m)]
    assert len(digest) == 1
    assert json.loads(run(app, "outbox", "--json", "--status", "pending").output) == []
    assert "sent" in run(app, "outbox").output
    # A second --now with nothing new sends nothing.
    assert "nothing new" in run(app, "digest", "--member", "boss@corp.example", "--now").output


def test_unknown_member_is_an_error(app):
    result = CliRunner().invoke(
        main, ["mail", "digest", "--member", "nobody@x.example"],
        obj=ScriptInfo(create_app=lambda: app),
    )  # fmt: skip
    assert result.exit_code != 0 and "no member" in result.output
