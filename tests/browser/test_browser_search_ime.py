"""Search as you type with a Japanese input method, in Chromium.

Playwright can simulate composition: a CDP session's ``Input.imeSetComposition`` sends what an
IME sends while a word is being composed (compositionstart/update, ``input`` events with
``isComposing`` true), and ``Input.insertText`` commits it (compositionend). The pauses between
composition steps are the member's typing pace, longer than the search's delay: that is when
the half-composed readings (よ, よさ, よさん) used to be searched and the results flickered.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

# Longer than the trigger's delay (300ms): each pause would let a pending search fire.
PACE_MS = 700


def searches(page: Page) -> list[str]:
    """Collect the words of every search-as-you-type request the page makes, as it makes them."""
    seen: list[str] = []

    def record(request: Request) -> None:
        if "/search" in request.url and request.headers.get("hx-request"):
            seen.append(parse_qs(urlparse(request.url).query).get("q", [""])[0])

    page.on("request", record)
    return seen


def test_composing_searches_only_the_committed_word(browser: Browser, ja_hub) -> None:
    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, ja_hub.url, "tanaka")
    page.goto(f"{ja_hub.url}/search")
    box = page.locator("input[name=q]")
    trigger = box.get_attribute("hx-trigger") or ""
    assert "input[!event.isComposing]" in trigger and "compositionend" in trigger
    asked = searches(page)
    box.focus()
    cdp = page.context.new_cdp_session(page)
    for reading in ("よ", "よさ", "よさん"):
        cdp.send(
            "Input.imeSetComposition",
            {"text": reading, "selectionStart": len(reading), "selectionEnd": len(reading)},
        )
        page.wait_for_timeout(PACE_MS)
    with page.expect_response(lambda r: "/search?q=" in r.url):
        cdp.send("Input.insertText", {"text": "予算"})
    expect(page.locator("#results .result").first).to_be_visible()
    expect(page.locator("#results .result-count")).to_contain_text("予算")
    assert asked == ["予算"]


def test_typing_without_an_input_method_searches_as_you_type(browser: Browser, ja_hub) -> None:
    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, ja_hub.url, "tanaka")
    page.goto(f"{ja_hub.url}/search")
    asked = searches(page)
    with page.expect_response(lambda r: "/search?q=" in r.url):
        page.locator("input[name=q]").press_sequentially("予算")
    expect(page.locator("#results .result-count")).to_contain_text("予算")
    expect(page).to_have_url(f"{ja_hub.url}/search")
    assert asked[-1] == "予算"
