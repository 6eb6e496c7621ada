"""The admin who saves the usage rules has accepted them: they go on editing without being sent
to accept their own text first; every other member is asked to accept as before, and rules set
from the command line are accepted by nobody."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select

from hub import db
from hub.models import Event, User
from mailbridge.cli import main
from tests.factories import make_user, signed_in

NEW_RULES = "# 社内ルール\n\n- 丁寧に"


def accepted(app: Flask) -> dict[str, bool]:
    with db.transaction(app) as s:
        return {u.email: u.rules_accepted_at is not None for u in s.scalars(select(User))}


def test_the_admin_who_saves_the_rules_has_accepted_them(app: Flask) -> None:
    with db.transaction(app) as s:
        make_user(s, email="admin@corp.example", name="Admin", admin=True, rules_accepted=False)
        make_user(s, email="taro@corp.example", name="太郎", rules_accepted=False)
    admin = signed_in(app, "admin@corp.example")
    # The default rules count as rules: on a first visit the admin accepts them as everyone
    # does (one click), and only then edits them.
    r = admin.get("/admin/rules")
    assert r.status_code == 303 and r.location.startswith("/rules?next=/admin/rules")
    assert admin.post("/rules/accept", data={"next": "/admin/rules"}).status_code == 303
    r = admin.post("/admin/rules", data={"markdown": NEW_RULES})
    assert r.status_code == 303 and r.location == "/admin/rules"
    page = admin.get("/rules").text
    assert "社内ルール" in page and "You accepted these rules on" in page
    assert 'id="accept-rules"' not in page
    # Straight back to the edit page (and anywhere else), with the text just saved.
    r = admin.get("/admin/rules")
    assert r.status_code == 200 and "# 社内ルール" in r.text
    assert admin.get("/").status_code == 200
    assert accepted(app) == {"admin@corp.example": True, "taro@corp.example": False}
    with db.transaction(app) as s:
        events = list(s.scalars(select(Event).where(Event.kind == "rules_accepted")))
        assert [(e.actor_id, (e.data or {}).get("via")) for e in events] == [(1, "web")]

    # Everyone else is asked to accept, as before.
    taro = signed_in(app, "taro@corp.example")
    r = taro.get("/")
    assert r.status_code == 303 and r.location.startswith("/rules")
    assert 'id="accept-rules"' in taro.get("/rules").text
    assert taro.post("/rules/accept").location == "/guide"
    assert taro.get("/").status_code == 200

    # Saving again changes nothing about who has accepted.
    assert admin.post("/admin/rules", data={"markdown": NEW_RULES + "\n- 短く"}).status_code == 303
    assert admin.get("/admin/rules").status_code == 200
    assert accepted(app) == {"admin@corp.example": True, "taro@corp.example": True}


def test_rules_set_from_the_command_line_are_accepted_by_nobody(app: Flask, tmp_path: Path):
    with db.transaction(app) as s:
        make_user(s, email="admin@corp.example", name="Admin", admin=True, rules_accepted=False)
    path = tmp_path / "rules.md"
    path.write_text(NEW_RULES, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["rules", "set", "--file", str(path)], obj=ScriptInfo(create_app=lambda: app)
    )
    assert result.exit_code == 0, result.output
    assert accepted(app) == {"admin@corp.example": False}
    admin = signed_in(app, "admin@corp.example")
    r = admin.get("/admin/rules")
    assert r.status_code == 303 and re.match(r"/rules\?next=", r.location)
