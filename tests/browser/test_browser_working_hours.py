"""Night-shift working hours in a real Chromium, in Japanese: the settings page and the signed
preferences page say 「翌日06:00まで」 while the member types, save 22:00-06:00, and refuse equal
times with what to write instead."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from hub import db, demo
from hub.models import User
from mailbridge import outbound
from tests.browser.conftest import sign_in
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def hours_of(hub: LiveServer, local: str) -> tuple[int, int, str]:
    with db.transaction(hub.app) as session:
        user = session.scalar(select(User).where(User.email == f"{local}@{demo.DOMAIN}"))
        assert user is not None
        return user.work_start, user.work_end, user.working_days


def test_settings_page_explains_and_saves_a_night_shift(browser: Browser, ja_hub) -> None:
    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, ja_hub.url, "tanaka")
    page.goto(f"{ja_hub.url}/settings")
    note = page.locator("#hours-note")
    expect(note).to_contain_text("夜勤なら終業を始業より前の時刻にします")
    page.locator("input[name=work_start]").fill("22:00")
    page.locator("input[name=work_end]").fill("06:00")
    # Said while typing, before anything is saved.
    expect(note).to_have_text("22:00から翌日06:00まで（夜勤は始まった日の勤務として数えます）。")
    page.locator("#profile button[type=submit]").click()
    expect(page.locator("[role=status], .notice").first).to_contain_text("保存")
    assert hours_of(ja_hub, "tanaka")[:2] == (22 * 60, 6 * 60)
    expect(page.locator("input[name=work_end]")).to_have_value("06:00")
    expect(note).to_contain_text("翌日06:00まで")

    # All day is 00:00 to 00:00.
    page.locator("input[name=work_start]").fill("00:00")
    page.locator("input[name=work_end]").fill("00:00")
    expect(note).to_have_text("終日（00:00〜00:00）。")

    # Equal times: refused in Japanese, with the times as typed.
    page.locator("input[name=work_start]").fill("08:00")
    page.locator("input[name=work_end]").fill("08:00")
    page.locator("#profile button[type=submit]").click()
    expect(page.locator("#profile [role=alert]")).to_contain_text(
        "始業と終業を同じ時刻にはできません"
    )
    expect(page.locator("input[name=work_start]")).to_have_value("08:00")
    assert hours_of(ja_hub, "tanaka")[:2] == (22 * 60, 6 * 60)


def test_signed_preferences_page_sets_a_night_shift_without_sign_in(
    browser: Browser, ja_hub
) -> None:
    with db.transaction(ja_hub.app) as session:
        kachou = session.scalar(select(User).where(User.email == f"nakamura@{demo.DOMAIN}"))
        assert kachou is not None
        url = outbound.prefs_url(ja_hub.app, kachou.id)
    page = browser.new_context(locale="ja-JP").new_page()
    page.goto(url)
    page.locator("input[name=work_start]").fill("22:00")
    page.locator("input[name=work_end]").fill("06:00")
    page.locator("input[name=working_days][value=sat]").check()
    expect(page.locator("#hours-note")).to_contain_text("22:00から翌日06:00まで")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("[role=status]")).to_be_visible()
    assert hours_of(ja_hub, "nakamura") == (22 * 60, 6 * 60, "mon,tue,wed,thu,fri,sat")
    expect(page.locator("#hours-note")).to_contain_text("翌日06:00まで")
