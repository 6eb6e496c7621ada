"""@mentions in rendered posts: a handle that names a member of the hub (as the mention parser
resolves it) is a highlighted link to their page; anything else stays plain text, and the
markup that makes the link passes the sanitizer's allowlist and nothing more."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from hub import db
from hub.services import accounts
from hub.text import MentionLink, render_markdown
from tests.factories import make_channel, make_thread, make_user, signed_in


@pytest.fixture
def thread(app: Flask) -> dict[str, Any]:
    """Aoki writes to Tanaka (by address), 田中 (by name, with さん), a deactivated member
    and people who are not members at all."""
    with db.transaction(app) as s:
        aoki = make_user(s, email="aoki@corp.example", name="Aoki")
        tanaka = make_user(s, email="tanaka@corp.example", name="田中 健太")
        gone = make_user(s, email="gone@corp.example", name="Gone")
        accounts.deactivate(s, gone)
        body = (
            "@tanaka please check. この件は@田中さんに確認します。\n\n"
            "cc @gone @nobody @evil<script> and mail tanaka@corp.example\n\n"
            "`@tanaka` stays code, [so does @tanaka](https://example.com)"
        )
        post = make_thread(s, channel=make_channel(s), author=aoki, body=body)
        return {"thread_id": post.thread_id, "tanaka": tanaka.id}


def mention_markup(page: str) -> list[str]:
    return re.findall(r'<(?:a|span) class="mention"[^>]*>[^<]*</(?:a|span)>', page)


def test_a_members_handle_links_to_their_page(app, thread) -> None:
    reader = signed_in(app, "aoki@corp.example")
    page = reader.get(f"/t/{thread['thread_id']}").text
    found = mention_markup(page)
    href = f'href="/thanks/member/{thread["tanaka"]}"'
    # @tanaka and @田中 (not さんに) are links to Tanaka's page, with his name as the title.
    assert len(found) == 2
    assert all(href in m and 'title="田中 健太"' in m for m in found)
    assert ">@tanaka</a>" in found[0] and ">@田中</a>" in found[1]
    assert "@田中</a>さんに確認" in page
    # A deactivated member, unknown handles and a mail address stay plain text.
    assert "cc @gone @nobody @evil&lt;script&gt;" in page
    assert "mail tanaka@corp.example" in page
    assert "<code>@tanaka</code>" in page and ">so does @tanaka</a>" in page
    # The link leads to the member's page.
    assert "田中 健太" in reader.get(f"/thanks/member/{thread['tanaka']}").text


def test_without_a_member_page_the_mention_is_a_span(app, thread) -> None:
    del app.view_functions["culture.member_thanks"]
    page = signed_in(app, "aoki@corp.example").get(f"/t/{thread['thread_id']}").text
    found = mention_markup(page)
    assert len(found) == 2
    assert all(m.startswith('<span class="mention" title="田中 健太">') for m in found)


def test_the_mention_markup_is_sanitized() -> None:
    hostile = MentionLink(length=3, name='"><script>alert(1)</script>', href="javascript:alert(1)")
    html = render_markdown("@eve was here", {"eve": hostile})
    assert "<script" not in html and "javascript:" not in html
    assert html.startswith('<p><a class="mention" title="&quot;&gt;&lt;script&gt;')
    # A post cannot give itself the class: raw HTML is text and other classes are dropped.
    raw = render_markdown('<a class="mention" href="/x">@eve</a>')
    assert "<a" not in raw and "&lt;a class" in raw
    assert "class" not in render_markdown("[@eve](https://example.com)", {"eve": hostile})
    # Without members to link, a post renders exactly as before.
    assert render_markdown("@eve was here") == "<p>@eve was here</p>\n"
