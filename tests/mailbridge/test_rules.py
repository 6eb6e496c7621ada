"""The RULES tuple: its order and each rule's verdict (table-driven)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from mailbridge import ingest, rules
from tests.factories import make_channel, make_thread, make_user
from tests.mailbridge.test_ingest import mail, reply_address


def test_rules_are_a_literal_ordered_tuple() -> None:
    names = [r.__name__ for r in rules.RULES]
    assert names == [
        "drop_duplicate_post",
        "drop_own_mail",
        "drop_auto_reply",
        "take_bounce",
        "route",
        "identify_sender",
        "authenticate",
        "extract_text",
    ]
    # Then, for each destination of the message: a verdict here touches that destination only.
    assert [r.__name__ for r in rules.DESTINATION_RULES] == [
        "check_token_owner",
        "skip_replied_channel",
        "refuse_empty_post",
    ]


@pytest.fixture
def to(app: Flask, session: Any) -> str:
    boss = make_user(session, email="buchou@corp.example", name="部長")
    general = make_channel(session, slug="general", name="全社")
    thread_id = make_thread(session, channel=general, author=boss).thread_id
    session.commit()
    return reply_address(app, boss, thread_id)


@pytest.mark.parametrize(
    ("frm", "subject", "headers", "status", "reason"),
    [
        (
            "buchou@corp.example",
            "Re: x",
            {"Auto-Submitted": "auto-replied"},
            "ignored",
            "auto_reply",
        ),
        ("buchou@corp.example", "Re: x", {"Precedence": "bulk"}, "ignored", "auto_reply"),
        ("buchou@corp.example", "Re: x", {"X-Autoreply": "yes"}, "ignored", "auto_reply"),
        ("buchou@corp.example", "Out of Office: x", {}, "ignored", "auto_reply"),
        ("buchou@corp.example", "自動応答: 不在", {}, "ignored", "auto_reply"),
        ("noreply@corp.example", "Re: x", {}, "ignored", "auto_reply"),
        ("buchou@corp.example", "Re: x", {"List-Id": "<general.hub.test>"}, "ignored", "loop"),
        ("buchou@corp.example", "Re: x", {"X-Loop": "hiroba@hub.test"}, "ignored", "loop"),
        ("reply+abc@hub.test", "Re: x", {}, "ignored", "loop"),
        ("stranger@else.example", "Re: x", {}, "rejected", "unknown_sender"),
        ("buchou@corp.example", "Re: x", {}, "replied", None),
    ],
)
def test_verdicts(
    app: Flask, to: str, frm: str, subject: str, headers: dict[str, str], status: str,
    reason: str | None,
) -> None:  # fmt: skip
    raw = mail(frm=frm, to=to, subject=subject, headers=headers)
    out = ingest.receive(app, raw, [to], "smtp")
    assert (out.status, out.reason) == (status, reason)


def test_our_message_id_is_a_loop(app: Flask, to: str) -> None:
    raw = mail(frm="buchou@corp.example", to=to).replace(b"@client.example>", b"@hub.test>")
    assert ingest.receive(app, raw, [to], "smtp").reason == "loop"


def test_unroutable_mail_is_rejected(app: Flask, to: str) -> None:
    raw = mail(frm="buchou@corp.example", to="someone@corp.example")
    out = ingest.receive(app, raw, [], "imap")
    assert (out.status, out.reason) == ("rejected", "unknown_address")
