"""Addresses that only take a form's POST: a boosted form answered in place keeps the page's
address (HX-Push-Url: false) when its own cannot be opened, and opening one (405) says what
happened, in English and Japanese, with a link to the page holding the form."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from hub import db
from tests.conftest import japanese_app
from tests.factories import make_user, signed_in

BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}


@pytest.fixture
def member(app: Flask) -> Any:
    with db.transaction(app) as s:
        make_user(s, email="taro@corp.example", name="Taro")
    return signed_in(app, "taro@corp.example")


def test_a_boosted_answer_in_place_keeps_the_page_address(client, member) -> None:
    # "Check your mail" in place of the sign-in page: /login/link cannot be opened.
    r = client.post("/login/link", data={"email": "taro@corp.example"}, headers=BOOSTED)
    assert r.status_code == 200 and r.headers["HX-Push-Url"] == "false"
    r = member.post("/settings/password", data={"current": "wrong"}, headers=BOOSTED)
    assert r.status_code == 422 and r.headers["HX-Push-Url"] == "false"
    # A form whose address is also its page keeps htmx's push (a reload shows the form again),
    r = member.post("/channels/new", data={"name": "", "slug": "", "purpose": ""}, headers=BOOSTED)
    assert r.status_code == 422 and "HX-Push-Url" not in r.headers
    # as do a redirect (the page it leads to is pushed) and a form htmx swaps without boost.
    r = member.post("/settings/channels", data={}, headers=BOOSTED)
    assert r.status_code == 303 and "HX-Push-Url" not in r.headers
    r = member.post("/c/nowhere/join", headers={"HX-Request": "true"})
    assert "HX-Push-Url" not in r.headers


def test_an_address_that_only_takes_forms_says_what_to_do(client, member) -> None:
    r = client.get("/login/link")
    page = r.get_data(as_text=True)
    assert r.status_code == 405
    assert "This address only receives forms: it cannot be opened by itself." in page
    assert "Something went wrong" not in page
    assert 'id="form-page" href="/login"' in page
    page = member.get("/settings/password").get_data(as_text=True)
    assert 'id="form-page" href="/settings"' in page
    page = member.get("/t/7/reply").get_data(as_text=True)
    assert 'id="form-page" href="/t/7"' in page


def test_the_405_page_in_japanese(database_url, tmp_path) -> None:
    with japanese_app(database_url, tmp_path) as app:
        client = app.test_client()
        r = client.get("/login/link", headers={"Accept-Language": "ja"})
        page = r.get_data(as_text=True)
    assert r.status_code == 405
    assert "このアドレスはフォームの送信先のため、直接開くことはできません。" in page
    assert "もう一度送信されたものはありません。" in page
    assert 'href="/login">フォームのあるページへ</a>' in page
    assert "問題が発生しました" not in page
