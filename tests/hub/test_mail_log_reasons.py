"""The admin mail log says why a mail ended as it did in words, in the admin's language
(not 'token_sender_mismatch'), in the log and on the message's page; the codes stay in the
page's data attributes, the status filter's URL and the command line's JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flask_babel import force_locale

from hub import db
from hub.errors import Reason
from hub.models import InboundMessage
from hub.web.mail_admin import REASON_LABELS
from mailbridge import ingest
from mailbridge.cli import main
from mailbridge.outbound import reply_address
from tests.conftest import japanese_app
from tests.factories import make_channel, make_thread, make_user, signed_in


@pytest.fixture
def ja_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    with japanese_app(database_url, tmp_path) as app:
        yield app


def mail(frm: str, to: str, msgid: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = frm, to, "Re: 予算"
    msg["Message-ID"] = f"<{msgid}@client.example>"
    msg.set_content("承知しました。")
    return msg.as_bytes()


@pytest.fixture
def log(ja_app: Flask) -> dict[str, int]:
    """Hanako answers with the boss's reply address (refused), the boss answers (posted), an
    out-of-office answer, a mail that broke the pipeline, and one sent to two addresses."""
    with db.transaction(ja_app) as s:
        make_user(s, email="kanri@corp.example", name="管理者", admin=True, locale="ja")
        make_user(s, email="admin@corp.example", name="Admin", admin=True, locale="en")
        boss = make_user(s, email="buchou@corp.example", name="部長", email_only=True)
        make_user(s, email="hanako@corp.example", name="花子")
        general = make_channel(s, slug="general", name="全体")
        post = make_thread(s, channel=general, author=boss, title="予算", body="予算の件です")
        to = reply_address(ja_app, boss.id, post.thread_id)
    raw = mail("hanako@corp.example", to, "forged")
    assert ingest.receive(ja_app, raw, [to], "smtp").reason == "token_sender_mismatch"
    ok = mail("buchou@corp.example", to, "answer")
    assert ingest.receive(ja_app, ok, [to], "smtp").status == "replied"
    with db.transaction(ja_app) as s:
        rows = [
            InboundMessage(message_key="<ooo@x>", raw=b"x", source="smtp", sender="a@x",
                           subject="不在", status="ignored", reason="auto_reply"),
            InboundMessage(message_key="<bug@x>", raw=b"x", source="smtp", sender="a@x",
                           subject="壊れた", status="failed", reason="internal_error: KeyError"),
            InboundMessage(message_key="<two@x>", raw=b"x", source="smtp", sender="a@x",
                           subject="二か所", status="posted", rcpt="general@hub.test,x@hub.test",
                           results=[{"rcpt": "general@hub.test", "status": "posted"},
                                    {"rcpt": "x@hub.test", "status": "rejected",
                                     "reason": "unknown_address"}]),
        ]  # fmt: skip
        s.add_all(rows)
        s.flush()
        return {"forged": 1, "two": rows[2].id}


def in_words(app: Flask, label: object, locale: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return str(label)


def reasons(page: str) -> dict[str, str]:
    """Each row's reason code (kept in data-reason) and the words shown."""
    return dict(re.findall(r'<td data-reason="([^"]+)">([^<]+)</td>', page))


def test_every_reason_the_hub_records_has_words() -> None:
    assert set(REASON_LABELS) == {r.value for r in Reason}
    assert all(str(label) != code for code, label in REASON_LABELS.items())


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_the_log_and_the_message_page_say_why_in_words(
    ja_app: Flask, log: dict[str, int], locale: str
) -> None:
    admin = signed_in(ja_app, "kanri@corp.example" if locale == "ja" else "admin@corp.example")
    page = admin.get("/admin/mail").text
    shown = reasons(page)
    assert set(shown) == {"token_sender_mismatch", "auto_reply", "internal_error: KeyError"}
    for code in ("token_sender_mismatch", "auto_reply"):
        assert shown[code] == in_words(ja_app, REASON_LABELS[code], locale)
    if locale == "ja":
        assert shown == {
            "token_sender_mismatch": "返信用アドレスが別のメンバーのものです",
            "auto_reply": "不在通知などの自動返信です",
            "internal_error: KeyError": "広場の内部エラーです（KeyError）。"
            "直ったら再処理してください",
        }
    else:
        assert shown == {
            "token_sender_mismatch": "The reply address belongs to another member",
            "auto_reply": "An automatic reply, such as out of office",
            "internal_error: KeyError": "An error in the hub (KeyError): replay it once fixed",
        }
    assert "token_sender_mismatch<" not in page and ">auto_reply" not in page

    # The message's own page says it in the same words, and per address when it went to two.
    one = admin.get(f"/admin/mail/{log['forged']}").text
    found = re.search(r'<span id="reason" data-reason="token_sender_mismatch">([^<]+)</span>', one)
    assert found is not None and found.group(1) == shown["token_sender_mismatch"]
    two = admin.get(f"/admin/mail/{log['two']}").text
    found = re.search(r'<span data-reason="unknown_address">([^<]+)</span>', two)
    assert found is not None
    assert found.group(1) == in_words(ja_app, REASON_LABELS["unknown_address"], locale)
    assert found.group(1) != "unknown_address"
    # The filter keeps the status code in its URL.
    filtered = admin.get("/admin/mail?status=rejected").text
    assert set(reasons(filtered)) == {"token_sender_mismatch"}


def test_the_command_line_keeps_the_codes(ja_app: Flask, log: dict[str, int]) -> None:
    result = CliRunner().invoke(
        main, ["mail", "log", "--json"], obj=ScriptInfo(create_app=lambda: ja_app)
    )
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)
    assert "token_sender_mismatch" in {r["reason"] for r in rows}
