"""Asked to accept the rules again, a member is shown what changed since the version they
accepted: on the rules page (web members) and in the "rules updated" mail (email-only members,
through a real SMTP sink). A member who never accepted any version reads the rules whole."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db
from hub.models import User, Via
from hub.services import rules
from tests.factories import make_user, signed_in
from tests.fixtures_mailout import deliver, text_of, to

BOSS = "boss@corp.example"
V1 = "# 社内ルール\n\n- 丁寧に書く\n- 個人名で批判しない\n- 残業の相談は上長へ"
V2 = "# 社内ルール\n\n- 丁寧に書く\n- 残業の相談は上長と**人事**へ\n- [個人情報](http://hub.test/privacy)を書かない"


@pytest.fixture
def team(app: Flask, smtp_sink: Any) -> Any:
    """An admin, an email-only boss and a web member who accepted V1; a newcomer who never
    accepted any; then the admin asks everyone to accept V2."""
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        admin = make_user(s, email="admin@corp.example", name="Admin", admin=True)
        make_user(s, email=BOSS, name="山田 部長", email_only=True, actor=admin, locale="ja")
        make_user(s, email="sato@corp.example", name="Sato")
    deliver(app)
    smtp_sink.messages.clear()
    with db.transaction(app) as s:
        rules.set_rules(s, actor=s.get(User, 1), markdown=V1)
        for member in s.scalars(select(User).where(User.id > 1)):
            rules.accept_rules(s, member, Via.EMAIL if member.email_only else Via.WEB)
        make_user(s, email="new@corp.example", name="New", rules_accepted=False)
    admin = signed_in(app, "admin@corp.example")
    assert admin.post("/admin/rules", data={"markdown": V2, "ask_again": "1"}).status_code == 303
    return smtp_sink


def test_the_rules_page_shows_what_changed_since_the_member_accepted(app: Flask, team: Any) -> None:
    sato = signed_in(app, "sato@corp.example")
    page = sato.get("/rules").text
    changes = page[page.index('id="rules-changes"') : page.index("</section>")]
    assert "<del>- 個人名で批判しない</del><del>- 残業の相談は上長へ</del>" in changes
    added = "<ins>- 残業の相談は上長と人事へ</ins><ins>- 個人情報 (http://hub.test/privacy)を書かない</ins>"
    assert added in changes
    assert "丁寧に書く" not in changes  # unchanged lines are not listed
    # Accepted again, the page is the rules alone.
    accept = {"version": "2", "csrf_token": ""}
    assert sato.post("/rules/accept", data=accept).status_code == 303
    assert 'id="rules-changes"' not in sato.get("/rules").text
    # A newcomer never accepted a version: nothing to compare with.
    assert 'id="rules-changes"' not in signed_in(app, "new@corp.example").get("/rules").text


def test_the_rules_mail_lists_what_changed(app: Flask, team: Any) -> None:
    deliver(app)
    (mail,) = to(team, BOSS)
    text = text_of(mail)
    assert "前回同意された版からの変更点" in text
    assert (
        "  削除: - 個人名で批判しない\n  削除: - 残業の相談は上長へ\n"
        "  追加: - 残業の相談は上長と人事へ\n  追加: - 個人情報 (http://hub.test/privacy)を書かない\n"
    ) in text
    assert "丁寧に書く" in text and "  削除: - 丁寧に書く" not in text
    html = mail.get_body(("html",)).get_content()
    assert ">- 個人情報 (http://hub.test/privacy)を書かない</ins>" in html
    assert "**" not in text and "](" not in text
