"""The rules page before an admin writes one: the default text is in the hub's default language
(BABEL_DEFAULT_LOCALE, ja unless configured), and the admin's edit form starts with exactly the
text members read."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from hub import create_app, db
from tests.conftest import test_settings
from tests.factories import make_user, signed_in


def rules_text(page: str) -> str:
    found = re.search(r'<article class="markdown">(.*?)</article>', page, re.S)
    assert found is not None
    return re.sub(r"<[^>]+>", "", found.group(1))


def textarea(page: str) -> str:
    found = re.search(r'<textarea name="markdown"[^>]*>(.*?)</textarea>', page, re.S)
    assert found is not None
    return html.unescape(found.group(1))


@pytest.mark.parametrize(
    ("default_locale", "heading", "line"),
    [
        (None, "広場のルール", "オープンに共有しましょう"),
        ("ja", "広場のルール", "オープンに共有しましょう"),
        ("en", "Rules of the square", "Share openly"),
    ],
)
def test_default_rules_follow_the_hubs_language(
    database_url: str, tmp_path: Path, default_locale: str | None, heading: str, line: str
) -> None:
    overrides = {"BABEL_DEFAULT_LOCALE": default_locale} if default_locale else {}
    app = create_app(test_settings(database_url, tmp_path, **overrides))
    try:
        with db.transaction(app) as s:
            make_user(s, email="admin@corp.example", name="Admin", admin=True, locale="en")
            make_user(s, email="taro@corp.example", name="太郎", locale="ja")
            make_user(s, email="emily@corp.example", name="Emily", locale="en")
        # Every member reads the same text, whatever language their pages are in.
        for email in ("taro@corp.example", "emily@corp.example"):
            shown = rules_text(signed_in(app, email).get("/rules").text)
            assert heading in shown and line in shown
        # The admin's form starts with that very text, not an empty box.
        admin = signed_in(app, "admin@corp.example")
        form = textarea(admin.get("/admin/rules").text)
        assert form.startswith(f"# {heading}") and line in form
        # Saved unchanged, it is what members read.
        assert admin.post("/admin/rules", data={"markdown": form}).status_code == 303
        assert rules_text(signed_in(app, "taro@corp.example").get("/rules").text) == shown
        admin.post("/rules/accept")
        admin.post("/admin/rules", data={"markdown": "# 社内ルール\n\n- 丁寧に"})
        assert textarea(admin.get("/admin/rules").text) == "# 社内ルール\n\n- 丁寧に"
    finally:
        db.engine_of(app).dispose()
