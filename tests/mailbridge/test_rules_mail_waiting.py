""" "The rules were updated, please accept" waiting in the outbox for the member's working hours
does not leave once they have accepted (on the web, meanwhile), nor once the admins asked again
(the newer mail asks): through the fan-out and outbox drain to a real SMTP sink, frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db
from hub.models import OutboxMessage, User, Via
from hub.services import rules
from mailbridge import delivery, fanout
from tests.factories import PASSWORD, make_user, signed_in
from tests.fixtures_mailout import text_of, to

TOKYO = "tokyo@corp.example"
# Tuesday 24 November 2026, 23:00 in Tokyo (after work); Wednesday 09:00 there.
TUESDAY_23_TOKYO = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
WEDNESDAY_09_TOKYO = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
UPDATED = "The rules of the square were updated"


@pytest.fixture
def tokyo(app: Flask, smtp_sink: Any) -> Any:
    """An email-only member in Tokyo who accepted the first rules and can also sign in."""
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        make_user(
            s, email=TOKYO, name="東京", email_only=True, password=PASSWORD,
            timezone="Asia/Tokyo", working_days="mon-fri", working_hours="09:00-18:00",
            rules_accepted=True,
        )  # fmt: skip
    return smtp_sink


def ask_again(app: Flask, markdown: str) -> int:
    """The admins ask everyone to accept the rules again, late on Tuesday in Tokyo."""
    with db.transaction(app) as s:
        version = rules.set_rules(s, actor=None, markdown=markdown, ask_again=True)
    fanout.fan_out(app, now=TUESDAY_23_TOKYO)
    return version


def rows(app: Flask) -> dict[str, tuple[str, str | None]]:
    with db.transaction(app) as s:
        found = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "rules_updated"))
        return {r.dedupe_key: (r.status, r.last_error) for r in found}


def updated(sink: Any) -> list[Any]:
    return [m for m in to(sink, TOKYO) if m["Subject"] == UPDATED]


def test_accepted_on_the_web_meanwhile_the_waiting_mail_does_not_leave(
    app: Flask, tokyo: Any
) -> None:
    version = ask_again(app, "# ルール\n\n- 丁寧に")
    assert rows(app) == {f"rules_updated:v{version}": ("pending", None)}
    # Before his working day starts, he reads and accepts the rules on the web.
    browser = signed_in(app, TOKYO)
    res = browser.post("/rules/accept", data={"version": str(version)})
    assert res.status_code == 303
    delivery.drain_outbox(app, now=WEDNESDAY_09_TOKYO)
    assert updated(tokyo) == []
    assert rows(app) == {
        f"rules_updated:v{version}": ("cancelled", "the member accepted the rules meanwhile")
    }


def test_asked_again_meanwhile_only_the_newest_mail_leaves(app: Flask, tokyo: Any) -> None:
    first = ask_again(app, "# ルール\n\n- 丁寧に")
    second = ask_again(app, "# ルール\n\n- 丁寧に\n- 短く")
    delivery.drain_outbox(app, now=WEDNESDAY_09_TOKYO)
    (mail,) = updated(tokyo)
    assert "短く" in text_of(mail)
    assert rows(app) == {
        f"rules_updated:v{first}": ("cancelled", "the rules were asked again since"),
        f"rules_updated:v{second}": ("sent", None),
    }


def test_accepting_an_older_version_leaves_the_newer_mail_waiting(app: Flask, tokyo: Any) -> None:
    first = ask_again(app, "# ルール\n\n- 丁寧に")
    delivery.drain_outbox(app, now=WEDNESDAY_09_TOKYO)
    assert len(updated(tokyo)) == 1
    second = ask_again(app, "# ルール\n\n- 丁寧に\n- 短く")
    # He accepts the first mail's version (an old tab): he is still asked to accept the second.
    with db.transaction(app) as s:
        member = s.scalar(select(User).where(User.email == TOKYO))
        assert member is not None
        rules.accept_rules(s, member, Via.WEB, version=first)
    delivery.drain_outbox(app, now=datetime(2026, 11, 26, 0, 0, tzinfo=UTC))
    assert len(updated(tokyo)) == 2
    assert rows(app)[f"rules_updated:v{second}"] == ("sent", None)
