"""The company-values admin page says in words why a value was refused (it showed the raw
code or an English detail such as "duplicate tag: teamwork"), and its Remove button looks
like the removal it is, not like Save."""

from __future__ import annotations

from typing import Any

from flask import Flask

from hub import db
from hub.services import thanks
from tests.factories import make_user, signed_in


def test_a_refused_value_is_explained_and_remove_is_not_a_save_button(app: Flask) -> None:
    with db.transaction(app) as s:
        make_user(s, email="admin@corp.example", name="総務", admin=True)
        thanks.save_value(s, actor=None, tag="teamwork", name="チームワーク")
    admin: Any = signed_in(app, "admin@corp.example")
    cases = {
        "teamwork": "A value with that tag already exists.",
        "two words": "Give the value a tag: letters or digits, used as #tag in mail.",
    }
    for tag, said in cases.items():
        page = admin.post("/admin/values", data={"tag": tag, "name": "協力"}).text
        assert said in page, tag
        assert "duplicate tag" not in page and "invalid_value" not in page
    page = admin.get("/admin/values").text
    assert 'name="delete" value="1" class="link danger small"' in page
