"""Asking everyone to accept changed rules again: the rules' version, which version each member
accepted, the web gate and the admin's view (services, the test client, the CLI)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select

from hub import create_app, db
from hub.models import Event, User, Via
from hub.services import accounts, rules
from mailbridge.cli import main
from tests.conftest import test_settings
from tests.factories import PASSWORD, make_user, signed_in

OLD, NEW = "# 社内ルール\n\n- 丁寧に", "# 社内ルール\n\n- 丁寧に\n- 個人情報を書かない"


def rules_events(s: Any, kind: str) -> list[dict[str, Any]]:
    found = s.scalars(select(Event).where(Event.kind == kind).order_by(Event.id))
    return [{"actor": e.actor_id, **(e.data or {})} for e in found]


def test_asking_again_makes_a_new_version_that_everyone_accepts_again(session: Any) -> None:
    admin = make_user(session, email="admin@corp.example", name="Admin", admin=True,
                      rules_accepted=False)  # fmt: skip
    taro = make_user(session, email="taro@corp.example", name="太郎", rules_accepted=False)
    hanako = make_user(session, email="hanako@corp.example", name="花子", email_only=True)
    gone = make_user(session, email="gone@corp.example", name="退職者", rules_accepted=False)
    gone.active = False
    assert rules.current_version(session) == 1
    # The default rules count as rules: a member who never accepted any is asked.
    assert rules.must_accept(session, taro)
    assert rules.set_rules(session, actor=admin, markdown=OLD) == 1
    assert rules.must_accept(session, taro)
    assert rules.accept_rules(session, taro, Via.WEB) is True
    assert rules.accept_rules(session, hanako, Via.EMAIL) is True
    assert rules.accept_rules(session, taro, Via.WEB) is False
    assert (taro.rules_version, hanako.rules_version) == (1, 1)

    # A typo fix: the same version, nobody is asked again, nothing is mailed.
    assert rules.set_rules(session, actor=admin, markdown=OLD + "。") == 1
    assert not rules.must_accept(session, taro)
    assert rules_events(session, "rules_updated") == []

    assert rules.set_rules(session, actor=admin, markdown=NEW, ask_again=True) == 2
    assert rules.current_version(session) == 2
    assert rules_events(session, "rules_updated") == [{"actor": admin.id, "version": 2}]
    # The admin who saved has accepted by publishing; the others must accept again.
    assert rules.has_accepted(admin, 2) and not rules.must_accept(session, admin)
    assert rules.must_accept(session, taro) and not rules.has_accepted(hanako, 2)
    assert [u.email for u in rules.not_accepted(session, 2)] == [
        "taro@corp.example", "hanako@corp.example"]  # fmt: skip
    seen = rules.overview(session)
    assert (seen.version, seen.accepted) == (2, 1)
    assert [u.name for u in seen.pending] == ["太郎", "花子"]  # by name; not the inactive one
    assert seen.changed_at is not None and seen.asked_at is not None

    # Accepting records the version, by any door, with the rules_accepted event.
    assert rules.accept_rules(session, hanako, Via.EMAIL, version=2) is True
    assert hanako.rules_version == 2 and not rules.must_accept(session, hanako)
    accepted = rules_events(session, "rules_accepted")
    assert [(e["actor"], e["via"], e["version"]) for e in accepted] == [
        (admin.id, "web", 1), (taro.id, "web", 1), (hanako.id, "email", 1),
        (admin.id, "web", 2), (hanako.id, "email", 2)]  # fmt: skip
    assert rules.overview(session).accepted == 2


def test_an_older_version_accepted_late_is_recorded_as_what_it_was(session: Any) -> None:
    """A form or mail from before the admin asked again accepts the version it showed, so the
    member is still asked for the current one."""
    admin = make_user(session, admin=True)
    taro = make_user(session)
    rules.set_rules(session, actor=admin, markdown=OLD, ask_again=True)
    rules.set_rules(session, actor=admin, markdown=NEW, ask_again=True)
    assert rules.accept_rules(session, taro, Via.WEB, version=2) is True
    assert taro.rules_version == 2 and rules.must_accept(session, taro)
    assert rules.accept_rules(session, taro, Via.WEB, version=2) is False
    # A version from the future (no such mail exists) counts as the current one.
    assert rules.accept_rules(session, taro, Via.WEB, version=9) is True
    assert taro.rules_version == 3 and not rules.must_accept(session, taro)


def test_rules_set_from_the_cli_can_ask_again(app: Flask, tmp_path: Path) -> None:
    with db.transaction(app) as s:
        taro = make_user(s, email="taro@corp.example", name="太郎")
        rules.set_rules(s, actor=None, markdown=OLD)
        rules.accept_rules(s, taro, Via.WEB)
    path = tmp_path / "rules.md"
    path.write_text(NEW, encoding="utf-8")

    def run(*args: str) -> str:
        found = CliRunner().invoke(main, ["rules", "set", "--file", str(path), *args],
                                   obj=ScriptInfo(create_app=lambda: app))  # fmt: skip
        assert found.exit_code == 0, found.output
        return found.output

    assert run() == "rules updated (version 1)\n"
    with db.transaction(app) as s:
        assert not rules.must_accept(s, accounts.get_user(s, 1))
    out = run("--ask-again")
    assert out == "rules updated (version 2): everyone is asked to accept them again\n"
    with db.transaction(app) as s:
        assert rules.must_accept(s, accounts.get_user(s, 1))
        assert rules_events(s, "rules_updated") == [{"actor": None, "version": 2}]


def _team(app: Flask) -> None:
    with db.transaction(app) as s:
        admin = make_user(s, email="admin@corp.example", name="Admin", admin=True,
                          rules_accepted=False)  # fmt: skip
        taro = make_user(s, email="taro@corp.example", name="太郎", rules_accepted=False)
        rules.set_rules(s, actor=admin, markdown=OLD)
        rules.accept_rules(s, taro, Via.WEB)


def versions(app: Flask) -> dict[str, int]:
    with db.transaction(app) as s:
        return {u.email: u.rules_version for u in s.scalars(select(User).order_by(User.id))}


def test_saving_without_the_checkbox_asks_nobody_again(app: Flask) -> None:
    _team(app)
    admin, taro = signed_in(app, "admin@corp.example"), signed_in(app, "taro@corp.example")
    page = admin.get("/admin/rules").text
    box = re.search(r'<input[^>]*name="ask_again"[^>]*>', page)
    assert box is not None and "checked" not in box[0]  # off unless the admin ticks it
    assert admin.post("/admin/rules", data={"markdown": NEW}).status_code == 303
    assert taro.get("/").status_code == 200
    assert versions(app) == {"admin@corp.example": 1, "taro@corp.example": 1}
    page = admin.get("/admin/rules").text
    assert "Accepted this version: 2 of 2 members" in page and "Version 1" in page
    assert "Last changed on" in page and 'id="rules-pending"' not in page


def test_saving_with_the_checkbox_sends_members_to_the_rules_again(app: Flask) -> None:
    _team(app)
    admin, taro = signed_in(app, "admin@corp.example"), signed_in(app, "taro@corp.example")
    r = admin.post("/admin/rules", data={"markdown": NEW, "ask_again": "1"})
    assert r.status_code == 303 and r.location == "/admin/rules"
    # The admin who saved goes on as before.
    assert admin.get("/").status_code == 200
    page = admin.get("/admin/rules").text
    assert "Version 2" in page and "Accepted this version: 1 of 2 members" in page
    assert re.search(r'id="rules-pending">\s*<li>太郎 &lt;taro@corp.example&gt;</li>', page)
    assert "Everyone last asked to accept them again on" in page

    # 太郎 had accepted: on his next visit he is sent to the new rules, as on his first.
    r = taro.get("/thanks")
    assert r.status_code == 303 and r.location == "/rules?next=/thanks"
    page = taro.get(r.location).text
    assert "個人情報を書かない" in page and 'id="rules-changed"' in page
    assert 'id="accept-rules"' in page and 'name="version" value="2"' in page
    assert 'name="next" value="/thanks"' in page
    # Accepting takes him back where he was going (the guide is for the first time).
    r = taro.post("/rules/accept", data={"version": "2", "next": "/thanks"})
    assert r.status_code == 303 and r.location == "/thanks"
    assert taro.get("/").status_code == 200
    page = taro.get("/rules").text
    assert "You accepted these rules on" in page and 'id="rules-changed"' not in page
    assert versions(app) == {"admin@corp.example": 2, "taro@corp.example": 2}
    assert "Accepted this version: 2 of 2 members" in admin.get("/admin/rules").text
    with db.transaction(app) as s:
        accepted = rules_events(s, "rules_accepted")
        assert [(e["actor"], e["via"], e["version"]) for e in accepted][-1] == (2, "web", 2)


def test_a_page_read_before_the_rules_changed_again_accepts_only_what_it_showed(
    app: Flask,
) -> None:
    _team(app)
    admin, taro = signed_in(app, "admin@corp.example"), signed_in(app, "taro@corp.example")
    admin.post("/admin/rules", data={"markdown": NEW, "ask_again": "1"})
    assert 'name="version" value="2"' in taro.get("/rules").text
    admin.post("/admin/rules", data={"markdown": NEW + "\n- 短く", "ask_again": "1"})
    r = taro.post("/rules/accept", data={"version": "2", "next": "/"})
    assert r.status_code == 303
    assert versions(app)["taro@corp.example"] == 2
    r = taro.get("/")
    assert r.status_code == 303 and r.location.startswith("/rules")
    assert "短く" in taro.get("/rules").text


def test_a_member_cannot_ask_everyone_again(app: Flask) -> None:
    _team(app)
    taro = signed_in(app, "taro@corp.example")
    assert taro.post("/admin/rules", data={"markdown": NEW, "ask_again": "1"}).status_code == 403
    assert versions(app) == {"admin@corp.example": 1, "taro@corp.example": 1}


def test_the_rules_forms_need_the_csrf_token(database_url: str, tmp_path: Path) -> None:
    app = create_app(test_settings(database_url, tmp_path, WTF_CSRF_ENABLED=True))
    try:
        _team(app)

        def sign_in(email: str) -> Any:
            client = app.test_client()
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
            data = {"email": email, "password": PASSWORD, "csrf_token": token[1]}  # type: ignore[index]
            assert client.post("/login", data=data).status_code == 303
            return client

        admin = sign_in("admin@corp.example")
        form = {"markdown": NEW, "ask_again": "1"}
        assert admin.post("/admin/rules", data=form).status_code == 400
        assert versions(app) == {"admin@corp.example": 1, "taro@corp.example": 1}
        token = re.search(r'name="csrf_token" value="([^"]+)"', admin.get("/admin/rules").text)
        r = admin.post("/admin/rules", data={**form, "csrf_token": token[1]})  # type: ignore[index]
        assert r.status_code == 303
        assert versions(app) == {"admin@corp.example": 2, "taro@corp.example": 1}

        taro = sign_in("taro@corp.example")
        assert taro.post("/rules/accept", data={"version": "2"}).status_code == 400
        page = taro.get("/rules").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        r = taro.post("/rules/accept", data={"version": "2", "csrf_token": token[1]})  # type: ignore[index]
        assert r.status_code == 303
        assert versions(app) == {"admin@corp.example": 2, "taro@corp.example": 2}
    finally:
        db.engine_of(app).dispose()
