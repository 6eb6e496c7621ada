"""In Chromium: a link to a post lands on it however old it is. A thread page shows its newest
30 posts; a post before them (the thread's first one here, of 35) is reached by its permalink
/p/ID, a search hit, a mention and the link in a mail about it, each opening the page of the
thread that holds it, scrolled to it; from there "Newer posts" goes on. The mail's #post-ID
anchor is the post's element on the page (it was #pID, which no page has)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from hub import create_app, db
from hub.models import Via
from hub.services import threads
from tests.browser.test_browser_rules_publisher import sign_in
from tests.conftest import LiveServer, dispose, free_port, test_settings
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import deliver, text_of, to

pytestmark = pytest.mark.browser

REPLIES = 34


@pytest.fixture
def hub(database_url: str, tmp_path: Path, smtp_sink: Any) -> Iterator[LiveServer]:
    """A live hub whose mail goes to a real SMTP sink: Ueda is mentioned in the first post of
    a thread that then gets 34 replies."""
    port = free_port()
    app = create_app(test_settings(database_url, tmp_path, BASE_URL=f"http://127.0.0.1:{port}",
                                   WTF_CSRF_ENABLED=True, RELAY_URL=smtp_sink.url))  # fmt: skip
    with db.transaction(app) as s:
        aoki = make_user(s, email="aoki@corp.example", name="Aoki")
        make_user(s, email="ueda@corp.example", name="Ueda")
        channel = make_channel(s, slug="general", name="General", creator=aoki)
        first = make_thread(s, channel=channel, author=aoki, title="Zoo trip",
                            body="@ueda shall we see the platypus?")  # fmt: skip
    deliver(app)  # the mail about the first post, sent when it was new
    with db.transaction(app) as s:
        thread = threads.get_visible_thread(s, first.thread_id, viewer=first.author)
        for n in range(1, REPLIES + 1):
            threads.reply(s, author=first.author, thread=thread, body=f"Reply {n}", via=Via.WEB)
    server = LiveServer(app, port)
    server.thread_id, server.first_id = first.thread_id, first.id  # type: ignore[attr-defined]
    server.sink = smtp_sink  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()
        dispose(app)


def _reader(browser: Browser, hub: LiveServer) -> Page:
    page = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800}).new_page()
    sign_in(page, hub.url, "ueda@corp.example")
    return page


def _lands_on_first_post(page: Page, hub: Any) -> None:
    expect(page).to_have_url(re.compile(rf"/t/{hub.thread_id}\?before=\d+#post-{hub.first_id}$"))
    first = page.locator(f"#post-{hub.first_id}")
    expect(first).to_contain_text("shall we see the platypus?")
    expect(first).to_be_in_viewport()


def test_the_permalink_of_an_old_post_opens_the_page_holding_it(browser: Browser, hub) -> None:
    page = _reader(browser, hub)
    page.goto(f"{hub.url}/t/{hub.thread_id}")
    expect(page.locator("#posts article.post")).to_have_count(30)
    expect(page.locator(f"#post-{hub.first_id}")).to_have_count(0)

    page.goto(f"{hub.url}/p/{hub.first_id}")
    _lands_on_first_post(page, hub)
    expect(page.locator("#posts article.post")).to_have_count(30)
    # No new posts are fetched after an older page (they would come after a gap): it goes on.
    expect(page.locator("#poller")).to_have_count(0)
    page.locator("#newer").click()
    expect(page).to_have_url(f"{hub.url}/t/{hub.thread_id}")
    expect(page.locator("#posts article.post").last).to_contain_text(f"Reply {REPLIES}")
    expect(page.locator("#newer")).to_have_count(0)
    expect(page.locator("#poller")).to_be_attached()


def test_a_search_hit_and_a_mention_land_on_the_old_post(browser: Browser, hub) -> None:
    page = _reader(browser, hub)
    page.goto(f"{hub.url}/search?q=platypus")
    page.locator("ol.results a.title").first.click()
    _lands_on_first_post(page, hub)

    page.goto(f"{hub.url}/mentions")
    page.locator("li.mention a.title").first.click()
    _lands_on_first_post(page, hub)


def test_the_link_in_a_mail_about_a_post_lands_on_it(browser: Browser, hub) -> None:
    (mail,) = [m for m in to(hub.sink, "ueda@corp.example") if "Zoo trip" in str(m["Subject"])]
    link = re.search(r"http://\S+#\S+", text_of(mail))
    assert link is not None
    assert link.group(0) == f"{hub.url}/t/{hub.thread_id}#post-{hub.first_id}"
    # 34 replies came since the mail: the post is no longer on the thread's newest page, and
    # the link still lands on it.
    page = _reader(browser, hub)
    page.goto(link.group(0))
    _lands_on_first_post(page, hub)


def test_a_reply_from_an_older_page_shows_at_the_newest(browser: Browser, hub) -> None:
    page = _reader(browser, hub)
    page.goto(f"{hub.url}/p/{hub.first_id}")
    page.locator("#reply-body").fill("I would love to!")
    page.locator("#reply-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/t/{hub.thread_id}#post-\d+$"))
    mine = page.locator("#posts article.post").last
    expect(mine).to_contain_text("I would love to!")
    expect(mine).to_be_in_viewport()
    expect(page.locator("#newer")).to_have_count(0)
