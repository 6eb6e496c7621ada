"""Wording people read: counts in the right number ("1 row", not "1 rows"), small files in bytes
(not "0.0 KB"), and the channel address hint saying what the rule allows."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flask_babel import force_locale
from sqlalchemy import select

from hub import db
from hub.models import Channel
from hub.services import channel_creation
from hub.web.attachments import filesize
from mailbridge.cli import main
from tests.conftest import japanese_app
from tests.factories import make_channel, make_thread, make_user, signed_in


@pytest.fixture
def admin(app: Flask) -> Iterator[object]:
    with db.transaction(app) as s:
        make_user(s, email="admin@corp.example", name="Admin", admin=True)
    yield signed_in(app, "admin@corp.example")


def notice(page: str) -> str:
    found = re.search(r'<p class="notice[^"]*">(.*?)</p>', page, re.S)
    assert found is not None
    return " ".join(found.group(1).split())


@pytest.mark.parametrize(
    ("csv", "preview", "done"),
    [
        (
            "email,name\none@corp.example,一人\n",
            "Preview: 1 row can be added. Nothing is saved yet.",
            "1 member added.",
        ),
        (
            "email,name\na@corp.example,A\nb@corp.example,B\nbad,C\n",
            "Preview: 2 rows can be added. 1 row has errors. Nothing is saved yet.",
            "2 members added. 1 row skipped.",
        ),
        (
            "email,name\nbad,C\nworse,D\n",
            "Preview: 0 rows can be added. 2 rows have errors. Nothing is saved yet.",
            "0 members added. 2 rows skipped.",
        ),
    ],
)
def test_csv_import_counts_in_the_right_number(admin, csv: str, preview: str, done: str) -> None:
    page = admin.post("/admin/members/import", data={"csv": csv, "action": "preview"}).text
    assert notice(page) == preview
    page = admin.post("/admin/members/import", data={"csv": csv, "action": "confirm"}).text
    # Said once, in the page's notice.
    assert notice(page) == done and page.count("added.") == 1


@pytest.fixture
def ja_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    with japanese_app(database_url, tmp_path) as app:
        yield app


@pytest.mark.parametrize(
    ("size", "en", "ja"),
    [
        (0, "0 bytes", "0 バイト"),
        (1, "1 byte", "1 バイト"),
        (42, "42 bytes", "42 バイト"),
        (1023, "1023 bytes", "1023 バイト"),
        (1024, "1 KB", "1 KB"),
        (1536, "1.5 KB", "1.5 KB"),
        (1_263_000, "1.2 MB", "1.2 MB"),
    ],
)
def test_file_sizes_read_well_in_both_languages(ja_app: Flask, size: int, en: str, ja: str) -> None:
    with ja_app.test_request_context():
        with force_locale("en"):
            assert filesize(size) == en
        with force_locale("ja"):
            # Japanese reads バイト once the lead merges this change's part file into the catalog.
            assert filesize(size) in (ja, en)


def test_a_small_attachment_is_shown_in_bytes(app: Flask) -> None:
    with db.transaction(app) as s:
        me = make_user(s, email="me@corp.example", name="Me")
        post = make_thread(s, channel=make_channel(s, creator=me), author=me)
        thread_id = post.thread_id
    client = signed_in(app, "me@corp.example")
    files = [(io.BytesIO(b"a,b\n1,2\n"), "small.csv", "text/csv")]
    r = client.post(f"/t/{thread_id}/reply", data={"body": "表です", "files": files},
                    content_type="multipart/form-data")  # fmt: skip
    assert r.status_code == 303
    page = client.get(f"/t/{thread_id}").text
    assert '<small class="size">8 bytes</small>' in page and "0.0 KB" not in page


# A channel's address name is a mail local part (an RFC 5321 dot-string): a dot only between
# two other characters. Hyphens and underscores may follow a dot (they are atext).
SLUGS_ALLOWED = ("sales", "sales.tokyo", "a.b.c", "team-a_2", "2026", "a.-b", "x" * 63)
SLUGS_REFUSED = ("-sales", ".x", "_x", "営業", "a b", "sales.", "a..b", "a.b.", "a...", "x" * 64,
                 "sales\n")  # fmt: skip


def test_the_address_hint_says_what_the_rule_allows(app: Flask) -> None:
    with db.transaction(app) as s:
        make_user(s, email="me@corp.example", name="Me")
    client = signed_in(app, "me@corp.example")
    form = client.get("/channels/new").text
    hint = re.search(r'<small id="slug-help">(.*?)</small>', form, re.S)
    assert hint is not None
    for allowed in ("Lower-case letters", "digits", "dots", "hyphens", "underscores", "(. - _)"):
        assert allowed in hint.group(1)
    assert "starting with a letter or digit" in hint.group(1)
    assert "a dot only between two other characters" in hint.group(1)
    assert "(not at the end, never two in a row)" in hint.group(1)
    pattern = re.search(r'name="slug"[^>]*pattern="([^"]+)"', form)
    assert pattern is not None and 'maxlength="63"' in form
    # The browser's pattern (and maxlength) and the hub's rule agree on every kind of character.
    browser_rule = re.compile(pattern.group(1))
    for slug in (*SLUGS_ALLOWED, *SLUGS_REFUSED):
        allowed = bool(browser_rule.fullmatch(slug)) and len(slug) <= 63
        assert allowed == bool(channel_creation.SLUG.match(slug)) == (slug in SLUGS_ALLOWED), slug

    # What the hint allows is accepted; what it does not is refused in the same words.
    data = {"name": "Tokyo sales", "purpose": "Sales in Tokyo.", "kind": "work"}
    ok = client.post("/channels/new", data={**data, "slug": "sales.tokyo_2-b"})
    assert ok.status_code == 303
    refused = client.post("/channels/new", data={**data, "slug": "-sales"})
    assert refused.status_code == 422
    alert = re.search(r'role="alert">(.*?)</p>', refused.text, re.S)
    assert alert is not None
    assert "(. - _)" in alert.group(1) and "starting with a letter or digit" in alert.group(1)
    assert "a dot only between two other characters" in alert.group(1)


def channel_slugs(app: Flask) -> list[str]:
    with db.transaction(app) as s:
        return sorted(s.scalars(select(Channel.slug)))


@pytest.mark.parametrize("slug", ["sales.", "a..b"])
def test_a_dot_at_the_end_or_twice_in_a_row_is_refused_everywhere(
    app: Flask, admin: Any, slug: str
) -> None:
    with db.transaction(app) as s:
        make_user(s, email="member@corp.example", name="Member")
    data = {"slug": slug, "name": "Sales", "purpose": "Sales talk.", "kind": "work"}
    # The web form, as an admin and as a member asking for a private channel (approval policy).
    refused = admin.post("/channels/new", data=data)  # type: ignore[attr-defined]
    assert refused.status_code == 422 and "a dot only between two other characters" in refused.text
    member = signed_in(app, "member@corp.example")
    refused = member.post("/channels/new", data={**data, "private": "1", "reason": "人事"})
    assert refused.status_code == 422 and "a dot only between two other characters" in refused.text
    # The admin's command line.
    result = CliRunner().invoke(
        main,
        ["channel", "add", slug, "--name", "Sales", "--purpose", "Sales talk."],
        obj=ScriptInfo(create_app=lambda: app),
    )
    assert result.exit_code == 1 and f"invalid slug: {slug}" in result.output
    assert channel_slugs(app) == []
    # What the rule allows still goes through every door.
    result = CliRunner().invoke(
        main,
        ["channel", "add", "sales.tokyo", "--name", "Sales", "--purpose", "Sales talk."],
        obj=ScriptInfo(create_app=lambda: app),
    )
    assert result.exit_code == 0, result.output
    asked = member.post("/channels/new", data={**data, "slug": "jinji.hr", "name": "人事",
                                               "private": "1", "reason": "人事"})  # fmt: skip
    assert asked.status_code == 303
    assert channel_slugs(app) == ["jinji.hr", "sales.tokyo"]


def test_a_channel_made_under_the_older_rule_keeps_its_address(app: Flask, admin: Any) -> None:
    with db.transaction(app) as s:
        s.add(Channel(slug="sales.", name="Old sales", purpose="Made before the rule."))
    page = admin.get("/c/sales.")  # type: ignore[attr-defined]
    assert page.status_code == 200 and "sales.@hub.test" in page.text
    assert channel_slugs(app) == ["sales."]
