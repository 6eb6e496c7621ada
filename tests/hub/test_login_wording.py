"""Japanese mail says ログイン, as every page does: the invitation and the sign-in link's mail
(subject, text and HTML parts), over real SMTP to a sink; and no Japanese string says サインイン."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask

from hub import db
from tests.conftest import CATALOG, japanese_app
from tests.factories import make_user, signed_in
from tests.fixtures_mailout import text_of, to
from tests.hub.test_onboarding import send_all

NEW = "shinjin@corp.example"


@pytest.fixture
def ja_app(database_url: str, tmp_path: Path, smtp_sink: Any) -> Iterator[Flask]:
    """The app in Japanese (the catalog with this work's part), mail relayed to the sink."""
    with japanese_app(database_url, tmp_path, RELAY_URL=smtp_sink.url) as app:
        yield app


def html_of(msg: Any) -> str:
    part = msg.get_body(preferencelist=("html",))
    return str(part.get_content()) if part is not None else ""


def test_the_invitation_and_the_link_mail_say_login(ja_app: Flask, smtp_sink: Any) -> None:
    with db.transaction(ja_app) as s:
        make_user(s, email="admin@corp.example", name="佐藤", admin=True, locale="ja")
    admin = signed_in(ja_app, "admin@corp.example")
    data = {"email": NEW, "name": "新人 花子", "locale": "ja"}
    assert admin.post("/admin/members/invite", data=data).status_code == 303
    # The sign-in page's own word for it, and the link asked for there.
    page = ja_app.test_client()
    page.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
    assert "ログイン" in page.get("/login").text
    assert page.post("/login/link", data={"email": NEW}).status_code == 200
    send_all(ja_app)

    invitation, link_mail = to(smtp_sink, NEW)
    text, html = text_of(invitation), html_of(invitation)
    assert "ログインはこちら: http://hub.test/login/link/" in text
    assert "こちらからログイン</a>" in html
    assert link_mail["Subject"] == "[Hiroba] ログイン用リンク"
    assert "Hiroba にログインできます" in text_of(link_mail)
    assert "誰もログインできません" in html_of(link_mail)
    for msg in (invitation, link_mail):
        for words in (str(msg["Subject"]), text_of(msg), html_of(msg)):
            assert "サインイン" not in words, words


def test_no_japanese_string_says_signin() -> None:
    with CATALOG.open("rb") as src:
        catalog = read_po(src)
    said = [m.id for m in catalog if m.id and "サインイン" in str(m.string)]
    assert said == []
