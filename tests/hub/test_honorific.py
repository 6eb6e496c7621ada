"""さん after a member's name in Japanese, unless the name already carries a title or an
honorific ("部長 山田", "山本 部長", "田中課長", "佐藤様"); in English the name as it is. The rule
(hub.i18n.honorific), the Japanese catalog that leaves it to the rule, and the pages."""

from __future__ import annotations

import doctest
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po
from flask import Flask, render_template_string
from flask_babel import force_locale

from hub import db, i18n
from hub.i18n import has_title, honorific
from tests.conftest import japanese_app
from tests.factories import make_channel, make_user, signed_in

CATALOG = Path(__file__).resolve().parents[2] / "hub/translations/ja/LC_MESSAGES/messages.po"

TITLED = [
    "部長 山田",  # the title first, as a company directory writes it
    "部長　山田",  # a full-width space
    "部長山田",
    "山本 部長",
    "山田部長",
    "田中課長",
    "営業部長 山田",
    "本部長 高橋",
    "副社長 伊藤",
    "小林 課長代理",
    "中村支店長",
    "工場長 松本",
    "取締役 木村",
    "専務 井上",
    "主任 清水",
    "店長 山口",
    "監督 森",
    "佐藤様",
    "鈴木先生",
    "山田さん",
    "けんちゃん",
    "たろうくん",
    "山田 氏",
    "田中 君",
    "佐藤 殿",
    "山本 誠 (部長)",
    "山本 誠（部長）",
    "John Smith 部長",
]
UNTITLED = [
    "山田 太郎",
    "山田太郎",
    "伊藤 さくら",
    "Emily Carter",
    # Guards: names with a title's characters that are not titles.
    "足利 尊氏",  # a given name ending in 氏 (counts only as a word of its own)
    "足利尊氏",
    "王 志君",  # a Chinese given name ending in 君
    "李君",
    "阿部 長",  # a surname ending in 部, the one-character given name 長
    "長谷部 誠",
    "服部 半蔵",
    "長嶋 茂雄",
    "君島 大輔",  # 君, 殿, 氏, 所, 室, 主 beginning a surname
    "殿村 健",
    "氏家 学",
    "所 ジョージ",
    "室井 慎次",
    "大石 主税",
]


@pytest.mark.parametrize("name", TITLED)
def test_a_name_with_a_title_takes_no_second_honorific(name: str) -> None:
    assert has_title(name)
    assert honorific(name, "ja") == name
    assert honorific(name, "en") == name


@pytest.mark.parametrize("name", UNTITLED)
def test_a_name_without_one_takes_san_right_after_it_in_japanese_only(name: str) -> None:
    assert not has_title(name)
    assert honorific(name, "ja") == name + "さん"
    assert honorific(name, "en") == name


def test_locales_and_empty_names() -> None:
    assert honorific("山田 太郎", "ja_JP") == "山田 太郎さん"
    assert honorific("山田 太郎", Locale.parse("ja")) == "山田 太郎さん"
    assert honorific("山田 太郎 ", "ja") == "山田 太郎さん"
    assert honorific("山田 太郎", "en_US") == "山田 太郎"
    assert honorific("", "ja") == "" and honorific(None, "ja") == ""


def test_doctests() -> None:
    assert doctest.testmod(i18n).failed == 0


def test_the_catalog_leaves_the_honorific_to_the_rule() -> None:
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    appended = [
        m.id for m in catalog if m.id and re.search(r"%\(\w+\)s\s*(さん|様)", str(m.string))
    ]
    assert appended == []


@pytest.fixture
def ja_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    with japanese_app(database_url, tmp_path) as app:
        yield app


def test_the_filter_follows_the_language_of_the_page_or_mail(ja_app: Flask) -> None:
    template = "{{ _('Hello %(name)s,', name=n|honorific) }}"
    with ja_app.test_request_context():
        for locale, name, wanted in (
            ("ja", "山田 太郎", "山田 太郎さん"),
            ("ja", "部長 山田", "部長 山田"),
            ("ja", "山本 部長", "山本 部長"),
            ("en", "山田 太郎", "Hello 山田 太郎,"),
            ("en", "Emily Carter", "Hello Emily Carter,"),
        ):
            with force_locale(locale):
                assert render_template_string(template, n=name) == wanted


def test_members_page_and_its_messages_in_both_languages(ja_app: Flask) -> None:
    with db.transaction(ja_app) as s:
        owner = make_user(s, email="sato@corp.example", name="佐藤 美咲", locale="ja")
        make_user(s, email="ada@corp.example", name="Ada Lovelace", admin=True, locale="en")
        make_user(s, email="boss@corp.example", name="山本 部長", locale="ja")
        make_user(s, email="taro@corp.example", name="山田 太郎", locale="ja")
        make_user(s, email="kacho@corp.example", name="田中課長", locale="ja")
        make_channel(
            s, slug="jinji", name="人事", private=True, reason="個人情報", creator=owner,
            policy="anyone",
        )  # fmt: skip
    sato = signed_in(ja_app, "sato@corp.example")
    sato.post("/c/jinji/members", data={"email": "boss@corp.example"})
    assert "山本 部長を人事に追加しました。" in sato.get("/c/jinji/members").text
    sato.post("/c/jinji/members", data={"email": "taro@corp.example"})
    page = sato.get("/c/jinji/members").text
    assert "山田 太郎さんを人事に追加しました。" in page
    assert "山本 部長を人事から外しますか？" in page
    assert "山田 太郎さんを人事から外しますか？" in page
    assert "部長さん" not in page
    ada = signed_in(ja_app, "ada@corp.example")
    ada.post("/c/jinji/members", data={"email": "kacho@corp.example"})
    page = ada.get("/c/jinji/members").text
    assert "田中課長 was added to 人事." in page and "Remove 山田 太郎 from 人事?" in page
    assert "さん" not in page
