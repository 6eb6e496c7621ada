"""Files refused on the new-thread and reply forms, through the test client in English: each
refused file is named with why (its type, its size, empty), what may be attached is said, and
the acceptable files picked with them are named to be picked again; nothing is stored."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from hub import db
from hub.errors import Reason
from hub.models import Attachment, Post, Thread
from hub.services import attachments
from tests.factories import make_channel, make_thread, make_user, signed_in

HX = {"HX-Request": "true"}


@pytest.fixture
def hub(app: Flask) -> Flask:
    """A channel with one thread and a member; files up to 1000 bytes."""
    app.config["MAX_ATTACHMENT_BYTES"] = 1000
    with db.transaction(app) as s:
        taro = make_user(s, email="taro@corp.example", name="Taro")
        channel = make_channel(s, slug="sales", name="Sales")
        make_thread(s, channel=channel, author=taro, title="Quotes")
    return app


def files(*picked: tuple[str, bytes, str]) -> list[tuple[BytesIO, str, str]]:
    return [(BytesIO(data), name, kind) for name, data, kind in picked]


def counts(app: Flask) -> tuple[int, ...]:
    with db.transaction(app) as s:
        return tuple(
            int(s.scalar(select(func.count()).select_from(m)) or 0)
            for m in (Thread, Post, Attachment)
        )


def test_a_new_thread_names_each_refused_file_and_why(hub: Flask) -> None:
    before = counts(hub)
    picked = files(
        ("big.txt", b"x" * 2000, "text/plain"),
        ("empty.txt", b"", "text/plain"),
        ("page.html", b"<html>", "text/html"),
        ("notes.txt", b"fine", "text/plain"),
    )
    data = {"title": "Price list", "body": "Here it is.", "files": picked}
    r = signed_in(hub, "taro@corp.example").post("/c/sales/new", data=data)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "big.txt: larger than 1000 bytes, the most a file may be." in page
    assert "empty.txt: the file is empty." in page
    assert "page.html: this kind of file cannot be attached." in page
    assert "Files you can attach: PNG, JPEG, GIF, WebP, PDF, plain text, CSV, ZIP," in page
    assert "Word, Excel, and PowerPoint, up to 1000 bytes each." in page
    assert "The other file you picked (notes.txt) was not attached either" in page
    assert "please pick it again" in page
    assert 'value="Price list"' in page and "Here it is.</textarea>" in page
    assert counts(hub) == before


def test_a_refused_reply_answers_htmx_in_the_form(hub: Flask) -> None:
    before = counts(hub)
    picked = files(("a.svg", b"<svg/>", "image/svg+xml"), ("b.svg", b"<svg/>", "image/svg+xml"))
    picked += files(("1.txt", b"one", "text/plain"), ("2.txt", b"two", "text/plain"))
    client = signed_in(hub, "taro@corp.example")
    r = client.post("/t/1/reply", data={"body": "Two drawings", "files": picked}, headers=HX)
    assert r.status_code == 200 and r.headers["HX-Retarget"] == "#reply-form"
    page = r.get_data(as_text=True)
    assert "a.svg and b.svg: this kind of file cannot be attached." in page
    assert "The other files you picked (1.txt and 2.txt) were not attached either" in page
    assert "Two drawings</textarea>" in page
    assert counts(hub) == before


def test_the_file_fields_offer_what_may_be_attached(hub: Flask) -> None:
    page = signed_in(hub, "taro@corp.example").get("/c/sales/new").get_data(as_text=True)
    assert 'accept="application/msword,application/pdf,' in page


def test_store_all_tries_every_file(session: Any, tmp_path: Any) -> None:
    user = make_user(session)
    limits = attachments.Limits(tmp_path / "att", 10, frozenset({"text/plain"}))
    ups = [
        attachments.Upload("../a.html", "text/html", b"<p>"),
        attachments.Upload("ok.txt", "text/plain", b"ok"),
        attachments.Upload("big.txt", "text/plain", b"x" * 11),
    ]
    with pytest.raises(attachments.FilesRefused) as err:
        attachments.store_all(session, uploader=user, uploads=ups, limits=limits)
    assert err.value.refused == [("a.html", Reason.UNSUPPORTED_TYPE), ("big.txt", Reason.TOO_LARGE)]
    assert err.value.others == ["ok.txt"] and err.value.reason == Reason.UNSUPPORTED_TYPE
    stored = attachments.store_all(session, uploader=user, uploads=ups[1:2], limits=limits)
    assert [a.filename for a in stored] == ["ok.txt"]
