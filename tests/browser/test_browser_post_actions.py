"""A post's actions for the people reading it: flag it for an admin, thank its author; both
forms keep what was typed when they are refused."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from hub import db
from hub.models import Flag, Thanks
from tests.browser.test_browser_culture import sign_in
from tests.factories import make_channel, make_thread, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def hub(live_server):
    """The live hub: an author's thread in an open channel, and a colleague reading it."""
    with db.transaction(live_server.app) as session:
        author = make_user(session, email="author@corp.example", name="Author Aoki")
        make_user(session, email="reader@corp.example", name="Reader Ueda")
        channel = make_channel(session, slug="general", name="General", creator=author)
        post = make_thread(session, channel=channel, author=author, title="Plan",
                           body="Here is the plan.")  # fmt: skip
        live_server.thread_id, live_server.post_id = post.thread_id, post.id
    return live_server


def test_a_reader_flags_a_post_from_the_thread(browser: Browser, hub) -> None:
    page = browser.new_context().new_page()
    sign_in(page, hub.url, "reader@corp.example")
    page.goto(f"{hub.url}/t/{hub.thread_id}")
    post = page.locator(f"#post-{hub.post_id}")
    expect(post.locator("a.edit")).to_have_count(0)  # not the reader's post
    post.locator("a.flag").click()
    expect(page.locator("h1")).to_have_text("Flag a post")
    # A reason of blanks is refused, and what was typed comes back with the reason why.
    page.evaluate("document.querySelectorAll('form').forEach(f => f.noValidate = true)")
    page.locator("textarea[name=reason]").fill("   ")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[role=alert]")).to_contain_text("Please say why")
    page.locator("textarea[name=reason]").fill("This names a customer in public.")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[role=status]")).to_contain_text("An admin will look at it")
    page.get_by_role("link", name="Back to the thread").click()
    expect(page.locator(f"#post-{hub.post_id}")).to_contain_text("Here is the plan.")
    with db.transaction(hub.app) as session:
        flag = session.scalar(select(Flag))
        assert flag is not None and flag.reason == "This names a customer in public."

    # The author sees Edit and Delete on their own post, and no Flag or Thank there.
    author = browser.new_context().new_page()
    sign_in(author, hub.url, "author@corp.example")
    author.goto(f"{hub.url}/t/{hub.thread_id}")
    own = author.locator(f"#post-{hub.post_id}")
    expect(own.locator("a.edit")).to_be_visible()
    expect(own.locator("a.flag")).to_have_count(0)
    expect(own.locator("a.thank")).to_have_count(0)


def test_thank_the_author_of_a_post(browser: Browser, hub) -> None:
    page = browser.new_context().new_page()
    sign_in(page, hub.url, "reader@corp.example")
    page.goto(f"{hub.url}/t/{hub.thread_id}")
    page.locator(f"#post-{hub.post_id} a.thank").click()
    form = page.locator("#thanks-form")
    expect(form.locator("select[name=recipients] option:checked")).to_have_text(
        "Author Aoki (author@corp.example)"
    )
    # A message of blanks is refused: the chosen colleague and the page stay as they were.
    page.evaluate("document.querySelectorAll('form').forEach(f => f.noValidate = true)")
    form.locator("textarea[name=message]").fill("  ")
    form.locator("button[type=submit]").click()
    expect(page.locator("[role=alert]")).to_be_visible()
    expect(form.locator("select[name=recipients] option:checked")).to_have_text(
        "Author Aoki (author@corp.example)"
    )
    form.locator("textarea[name=message]").fill("Thank you for the clear plan!")
    form.locator("button[type=submit]").click()
    expect(page.locator(".thanks-card").first).to_contain_text("Thank you for the clear plan!")
    with db.transaction(hub.app) as session:
        card = session.scalar(select(Thanks))
        assert card is not None and [r.user.name for r in card.recipients] == ["Author Aoki"]


def test_pages_load_without_failed_requests(browser: Browser, hub) -> None:
    page = browser.new_context().new_page()
    sign_in(page, hub.url, "reader@corp.example")
    # The landing page's own htmx requests (the mentions count) finish first: leaving a page
    # aborts its requests, which the browser reports as failed without anything being wrong.
    page.wait_for_load_state("networkidle")
    failed: list[str] = []
    page.on("console", lambda m: failed.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(f"{hub.url}/t/{hub.thread_id}")
    expect(page.locator(f"#post-{hub.post_id}")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert failed == []


def test_a_reply_written_over_an_hour_still_posts(browser: Browser, hub, monkeypatch) -> None:
    import time

    from itsdangerous.timed import TimestampSigner

    page = browser.new_context().new_page()
    sign_in(page, hub.url, "reader@corp.example")

    # The page's form token is from two hours ago: a long meeting, then the reply.
    def two_hours_ago(signer: TimestampSigner) -> int:
        csrf = signer.salt in (b"wtf-csrf-token", "wtf-csrf-token")
        return int(time.time()) - (7200 if csrf else 0)

    monkeypatch.setattr(TimestampSigner, "get_timestamp", two_hours_ago)
    page.goto(f"{hub.url}/t/{hub.thread_id}")
    monkeypatch.undo()
    page.locator("#reply-body").fill("Sorry for the late answer: agreed.")
    page.locator("#reply-form button[type=submit]").click()
    expect(page.locator("#posts")).to_contain_text("Sorry for the late answer: agreed.")


def test_an_expired_form_keeps_what_was_typed(browser: Browser, hub) -> None:
    page = browser.new_context().new_page()
    sign_in(page, hub.url, "reader@corp.example")
    page.goto(f"{hub.url}/t/{hub.thread_id}")
    # The token no longer matches the session (signed out and in again in another tab).
    page.evaluate("""() => {
        document.querySelectorAll("input[name=csrf_token]").forEach(i => i.value = "stale");
        document.body.setAttribute("hx-headers", '{"X-CSRFToken": "stale"}');
    }""")
    page.locator("#reply-body").fill("A long reply I do not want to lose.")
    page.locator("#reply-form button[type=submit]").click()
    expect(page.locator("#flash [role=alert]")).to_contain_text("This form has expired.")
    expect(page.locator("#reply-body")).to_have_value("A long reply I do not want to lose.")
