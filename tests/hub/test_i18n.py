"""Japanese and English: the member's locale, else Accept-Language; every UI string translated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.pofile import read_po

from hub import db
from tests.conftest import japanese_app
from tests.factories import make_channel, make_user

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "hub/translations/ja/LC_MESSAGES/messages.po"


@pytest.fixture
def ja_app(database_url, tmp_path):
    with japanese_app(database_url, tmp_path) as app:
        yield app


def test_every_extracted_string_has_a_japanese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "extract", "-F", str(ROOT / "babel.cfg"),
         "-k", "_l", "-k", "lazy_gettext", "-k", "N_", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as f:
        wanted = [m.id for m in read_po(f) if m.id]
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    missing = [m for m in wanted if not (catalog.get(m) and catalog.get(m).string)]
    assert len(wanted) > 300
    assert missing == []


def test_member_locale_then_browser_language(ja_app):
    with db.transaction(ja_app) as s:
        make_user(s, email="taro@corp.example", locale="ja")
        make_user(s, email="emily@corp.example", locale="en")
        make_channel(s, slug="general", name="全社")
    anonymous = ja_app.test_client()
    assert "ログイン" in anonymous.get("/login", headers={"Accept-Language": "ja"}).text
    assert "Sign in" in anonymous.get("/login", headers={"Accept-Language": "en-US"}).text
    for email, word in (("taro@corp.example", "チャンネル"), ("emily@corp.example", "Channels")):
        client = ja_app.test_client()
        # The browser asks for the other language: the member's own choice wins.
        other = "en" if word == "チャンネル" else "ja"
        client.post("/login", data={"email": email, "password": "correct horse battery"})
        page = client.get("/", headers={"Accept-Language": other}).text
        assert word in page


def test_mail_is_written_in_the_recipients_language(ja_app):
    from mailbridge import outbound

    ctx = {"recipient": SimpleNamespace(name="山田"), "channels": [], "help_address": "help@x"}
    ja = outbound.render_email(ja_app, "help", "ja", **ctx)
    en = outbound.render_email(ja_app, "help", "en", **ctx)
    assert ja.subject != en.subject
    assert any("\u3040" <= ch <= "\u30ff" for ch in ja.subject + ja.text)
    assert en.subject.isascii()
