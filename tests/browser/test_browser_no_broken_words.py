"""In Chromium at 1280px, in Japanese: labels and buttons stay whole (「有効」 is not 有/効),
mail addresses break only after @ or before a dot, and a long name does not push the header
onto two rows (it is cut short with an ellipsis)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page
from sqlalchemy import select

from hub import db, demo
from hub.models import User
from hub.services import accounts
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

WIDE = {"width": 1280, "height": 900}
# A member whose name and address are long, as in a real company's list.
FAR = ("アレクサンドラ・ジョナサン・長谷川（大阪支社 営業部）",
       "alexandra.hasegawa-jonathan@osaka.hiroba-shoji.example")  # fmt: skip
LONG_NAME = "佐藤 美咲（株式会社ひろば商事 経営企画本部 情報システム部 部長代理 兼 広報担当）"

# The text of an element as laid out: one string per line box (characters grouped by the
# top of their own box), so a test reads where the browser broke the text.
LINES_JS = """el => {
  const lines = [];
  let top = null;
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.data.length; i++) {
      if (!node.data[i].trim()) continue;
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const box = range.getBoundingClientRect();
      if (!box.height) continue;
      if (top === null || Math.abs(box.top - top) > box.height / 2) {
        lines.push("");
        top = box.top;
      }
      lines[lines.length - 1] += node.data[i];
    }
  }
  return lines;
}"""


def lines(element: Locator) -> list[str]:
    """The element's text, one string per line as Chromium laid it out (spaces left out)."""
    found: list[str] = element.evaluate(LINES_JS)
    return found


def breaks_only_at_at_or_dot(address_lines: list[str]) -> bool:
    """True when every line break in an address is after its @ or before a dot."""
    return all(
        before.endswith("@") or after.startswith(".")
        for before, after in zip(address_lines, address_lines[1:], strict=False)
    )


def _page(browser: Browser) -> Page:
    return browser.new_context(locale="ja-JP", viewport=WIDE).new_page()  # type: ignore[arg-type]


def test_members_page_keeps_labels_buttons_and_addresses_whole(
    browser: Browser, ja_hub: Any
) -> None:
    with db.transaction(ja_hub.app) as session:
        accounts.create_user(session, name=FAR[0], email=FAR[1], invite=False)
    page = _page(browser)
    sign_in(page, ja_hub.url, "sato")
    page.goto(f"{ja_hub.url}/admin/members")
    rows = page.locator("table.members tbody tr")
    assert rows.count() >= 9
    for i in range(rows.count()):
        row = rows.nth(i)
        status = row.locator("td").nth(4)
        # 「有効」 and 「無効にする」 side by side on one line, neither broken.
        assert len(lines(status)) == 1, lines(status)
        for button in row.locator("button").all():
            assert len(lines(button)) == 1, lines(button)
        address = lines(row.locator("td").nth(1).locator("code").first)
        assert breaks_only_at_at_or_dot(address), address


def test_guide_keeps_channel_names_whole_and_breaks_addresses_only_at_at_or_dot(
    browser: Browser, ja_hub: Any
) -> None:
    page = _page(browser)
    sign_in(page, ja_hub.url, "tanaka")
    page.goto(f"{ja_hub.url}/guide")
    # Headings and channel names (お知らせ, 全社連絡) are not cut to make room for the purpose.
    for label in page.locator("table th, table tbody td:first-child").all():
        assert len(lines(label)) == 1, lines(label)
    cells = page.locator("table tbody tr td:nth-child(3)")
    assert cells.count() >= 5
    for i in range(cells.count()):
        address = lines(cells.nth(i))
        assert "".join(address).endswith("@hub.test"), address
        assert breaks_only_at_at_or_dot(address), address


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_a_long_name_keeps_the_header_on_one_row(
    browser: Browser, ja_hub: Any, locale: str
) -> None:
    with db.transaction(ja_hub.app) as session:
        admin = session.scalar(select(User).where(User.email == demo.ADMIN_EMAIL))
        assert admin is not None
        admin.name = LONG_NAME
        admin.locale = locale  # English labels (Administration ▾) take more room
    page = _page(browser)
    sign_in(page, ja_hub.url, "sato")
    page.goto(f"{ja_hub.url}/admin/members")
    nav = page.locator("header.site nav")
    brand = nav.locator(".brand").bounding_box()
    sections = nav.locator(".sections").bounding_box()
    account = nav.locator(".account").bounding_box()
    assert brand and sections and account
    # One row: the sections and the account links sit level with the brand.
    for box in (sections, account):
        assert abs(box["y"] + box["height"] / 2 - (brand["y"] + brand["height"] / 2)) < 8, box
    assert nav.bounding_box()["height"] < 80  # type: ignore[index]
    assert len(lines(nav.locator(".brand"))) == 1, lines(nav.locator(".brand"))
    who = nav.locator(".who")
    assert len(lines(who)) == 1, lines(who)
    # Cut short with an ellipsis; the whole name is still there to hover over.
    assert who.evaluate("el => getComputedStyle(el).textOverflow") == "ellipsis"
    assert who.evaluate("el => el.scrollWidth > el.clientWidth")
    assert LONG_NAME in (who.get_attribute("title") or "")
