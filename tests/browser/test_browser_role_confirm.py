"""Making someone an admin (or no longer one) on the members page asks first, as deactivating
does, in a real Chromium (Japanese, CSRF on, htmx boost); without script the form still works."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect
from sqlalchemy import select

from hub import db, demo
from hub.models import User
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def _role(hub: Any, local: str) -> str:
    with db.transaction(hub.app) as session:
        user = session.scalar(select(User).where(User.email == f"{local}@{demo.DOMAIN}"))
        assert user is not None
        return "admin" if user.is_admin else "member"


def _becomes(hub: Any, local: str, role: str) -> None:
    """Wait (a few seconds at most) until the page's request has made the change."""
    deadline = time.monotonic() + 5
    while _role(hub, local) != role and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _role(hub, local) == role


def _row(page: Page, hub: Any, local: str) -> Any:
    with db.transaction(hub.app) as session:
        user_id = session.scalar(select(User.id).where(User.email == f"{local}@{demo.DOMAIN}"))
    return page.locator(f"#member-{user_id}")


def _answer(asked: list[str], accept: bool):  # noqa: ANN202
    def on_dialog(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    return on_dialog


def test_making_an_admin_and_back_asks_first(browser: Browser, ja_hub: Any) -> None:
    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, ja_hub.url, "sato")
    page.goto(f"{ja_hub.url}/admin/members")
    role = _row(page, ja_hub, "tanaka").locator("select[name=role]")
    asked: list[str] = []

    # One arrow key on the focused select: asked; answered No, nothing changes, and the select
    # shows メンバー again.
    page.once("dialog", _answer(asked, False))
    role.focus()
    page.keyboard.press("ArrowDown")
    expect(role).to_have_value("member")
    assert len(asked) == 1 and "田中 健太さん" in asked[0] and "管理者" in asked[0], asked
    assert _role(ja_hub, "tanaka") == "member"

    # Answered Yes: he is an admin.
    page.once("dialog", _answer(asked, True))
    role.select_option("admin")
    expect(_row(page, ja_hub, "tanaka").locator("select[name=role]")).to_have_value("admin")
    assert len(asked) == 2
    _becomes(ja_hub, "tanaka", "admin")
    # The page comes back from the server: its form now asks about taking the rights away.
    form = _row(page, ja_hub, "tanaka").locator("form:has(select[name=role])")
    expect(form).to_have_attribute("hx-confirm", re.compile("管理者権限を外"))

    # Taking it away asks too, in its own words.
    page.once("dialog", _answer(asked, False))
    _row(page, ja_hub, "tanaka").locator("select[name=role]").select_option("member")
    expect(_row(page, ja_hub, "tanaka").locator("select[name=role]")).to_have_value("admin")
    assert len(asked) == 3 and "田中 健太さん" in asked[2] and asked[2] != asked[0], asked
    assert _role(ja_hub, "tanaka") == "admin"
    page.once("dialog", _answer(asked, True))
    _row(page, ja_hub, "tanaka").locator("select[name=role]").select_option("member")
    _becomes(ja_hub, "tanaka", "member")


def test_without_script_the_role_form_still_works(browser: Browser, ja_hub: Any) -> None:
    page = browser.new_context(locale="ja-JP", java_script_enabled=False).new_page()
    sign_in(page, ja_hub.url, "sato")
    page.goto(f"{ja_hub.url}/admin/members")
    row = _row(page, ja_hub, "suzuki")
    row.locator("select[name=role]").select_option("admin")
    assert _role(ja_hub, "suzuki") == "member"  # nothing sent until the button is pressed
    row.locator("form:has(select[name=role]) button").click()
    _becomes(ja_hub, "suzuki", "admin")
    expect(_row(page, ja_hub, "suzuki").locator("select[name=role]")).to_have_value("admin")
