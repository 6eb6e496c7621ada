"""A member whose mail stopped for bouncing: the members page says why and since when, and an
admin starts it again there (a POST with CSRF) or with `hiroba user unbounce EMAIL`."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select

from hub import create_app, db
from hub.db import utcnow
from hub.models import Event, User
from hub.services import accounts, bounces
from mailbridge.cli import main
from tests.conftest import dispose, test_settings
from tests.factories import make_user

POLICY = bounces.Policy()
GONE = "550 5.1.1 <yamamoto@corp.example>: Recipient address rejected: User unknown"


def bounce_on_days(
    session: Any, address: str, days: list[int], *, hard: bool = True, status: str = "5.1.1",
    diagnostic: str = GONE,
) -> None:  # fmt: skip
    """Record a bounce of ``address`` on each of ``days`` ago, oldest first, as it happened."""
    for ago in sorted(days, reverse=True):
        rec = bounces.record_bounce(
            session, address=address, hard=hard, status=status, diagnostic=diagnostic,
            policy=POLICY,
        )  # fmt: skip
        rec.created_at = utcnow() - timedelta(days=ago)
        session.flush()


def token_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found[1]


def test_the_page_says_why_and_an_admin_resumes_mail(database_url: str, tmp_path: Path) -> None:
    app = create_app(test_settings(database_url, tmp_path, WTF_CSRF_ENABLED=True))
    try:
        with db.transaction(app) as s:
            make_user(s, email="admin@corp.example", name="管理者", admin=True)
            yamamoto = make_user(s, email="yamamoto@corp.example", name="山本 誠", email_only=True)
            sato = make_user(s, email="sato@corp.example", name="佐藤")
            bounce_on_days(s, yamamoto.email, [4, 2, 0])
            bounce_on_days(
                s, sato.email, [3, 1], hard=False, status="5.2.2", diagnostic="552 5.2.2 full"
            )
            yamamoto_id = yamamoto.id
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        data = {"email": "admin@corp.example", "password": "correct horse battery"}
        data["csrf_token"] = token_of(client.get("/login").text)
        assert client.post("/login", data=data).status_code == 303

        page = client.get("/admin/members").text
        row = page.split(f'id="member-{yamamoto_id}"', 1)[1].split("</tr>", 1)[0]
        assert "bouncing" in row and "No mail goes to this address" in row
        assert "the address does not exist or is disabled" in row and "User unknown" in row
        assert "Resume mail" in row and "hx-confirm" in row
        # Sato's full mailbox stopped nothing, and the page says it bounced lately.
        assert "Mail bounced on 2 days lately" in page and "the mailbox is full" in page

        # No CSRF token, nothing happens.
        url = f"/admin/members/{yamamoto_id}/bouncing"
        assert client.post(url).status_code == 400
        with db.transaction(app) as s:
            assert s.get(User, yamamoto_id).bouncing
        r = client.post(url, data={"csrf_token": token_of(page)})
        assert r.status_code == 303 and r.location.endswith(f"#member-{yamamoto_id}")
        page = client.get(r.location).text
        assert "Mail to 山本 誠 starts again." in page or "山本 誠さんへのメールを再開" in page
        row = page.split(f'id="member-{yamamoto_id}"', 1)[1].split("</tr>", 1)[0]
        assert "Resume mail" not in row and "No mail goes" not in row
        with db.transaction(app) as s:
            user = s.get(User, yamamoto_id)
            assert (user.bouncing, user.bounce_count) == (False, 0)
            assert user.bounces_cleared_at is not None
            assert s.scalar(select(Event.actor_id).where(Event.kind == "member_unbounced"))
            # The old bounces count no more: one more bounce alone stops nothing.
            bounce_on_days(s, user.email, [0])
        with db.transaction(app) as s:
            assert s.get(User, yamamoto_id).bouncing is False
    finally:
        dispose(app)


def test_only_admins_resume_mail(app: Flask, client: Any, session: Any, auth: Any) -> None:
    make_user(session, email="m@corp.example", name="一般")
    gone = make_user(session, email="gone@corp.example", name="退職者")
    gone.bouncing = True
    session.commit()
    auth.login("m@corp.example")
    assert client.post(f"/admin/members/{gone.id}/bouncing").status_code == 403
    session.refresh(gone)
    assert gone.bouncing


def hiroba(app: Flask, *args: str) -> Any:
    return CliRunner().invoke(main, ["user", *args], obj=ScriptInfo(create_app=lambda: app))


def test_hiroba_user_unbounce(app: Flask) -> None:
    with db.transaction(app) as s:
        user = make_user(s, email="yamamoto@corp.example", name="山本 誠")
        bounce_on_days(s, user.email, [2, 1, 0])
    listed = hiroba(app, "list").output
    assert "yamamoto@corp.example" in listed and "bouncing" in listed
    r = hiroba(app, "unbounce", "Yamamoto@corp.example")
    assert r.exit_code == 0 and "yamamoto@corp.example: mail resumed" in r.output
    with db.transaction(app) as s:
        user = accounts.find_user_by_email(s, "yamamoto@corp.example")
        assert user is not None and not user.bouncing and user.bounce_count == 0
    again = hiroba(app, "unbounce", "yamamoto@corp.example")
    assert again.exit_code == 0 and "was not bouncing" in again.output
    r = hiroba(app, "unbounce", "nobody@corp.example")
    assert r.exit_code != 0 and "no member with the address nobody@corp.example" in r.output
    assert "bouncing" not in hiroba(app, "list").output


def test_unbounce_is_in_user_help(app: Flask) -> None:
    listed = hiroba(app, "--help").output
    assert "unbounce" in listed and "Send a member mail again" in listed
    helped = " ".join(hiroba(app, "unbounce", "--help").output.split())
    assert "once their mailbox works again" in helped
