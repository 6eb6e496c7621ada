"""A post naming a member who cannot read its private channel tells its author that member was
not notified (new thread, reply without htmx: on the thread page; htmx: in the reply form), and
the page does not highlight that name. Test client, English."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from hub import db
from hub.services import channels
from tests.factories import make_channel, make_thread, make_user, signed_in

HX = {"HX-Request": "true"}
NOT_TOLD = "@tanaka cannot read this channel, so they were not notified."


@pytest.fixture
def hub(app: Flask) -> Flask:
    """The private channel hr (Ito and Sato) with a thread; Tanaka is not in it."""
    with db.transaction(app) as s:
        ito = make_user(s, email="ito@corp.example", name="Ito")
        sato = make_user(s, email="sato@corp.example", name="Sato")
        make_user(s, email="tanaka@corp.example", name="Tanaka")
        hr = make_channel(s, slug="hr", name="HR", private=True, reason="Personal data")
        channels.add_member(s, user=ito, channel=hr, actor=None)
        channels.add_member(s, user=sato, channel=hr, actor=None)
        make_thread(s, channel=hr, author=ito, title="Hiring")
    return app


def mentions_in(page: str) -> list[str]:
    return re.findall(r'class="mention"[^>]*>([^<]+)<', page)


def test_a_new_thread_says_who_was_not_notified(hub: Flask) -> None:
    ito = signed_in(hub, "ito@corp.example")
    data = {"title": "Interviews", "body": "@tanaka @sato please check the dates."}
    r = ito.post("/c/hr/new", data=data, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert NOT_TOLD in page
    assert mentions_in(page) == ["@sato"]
    # Said once: the next page is quiet.
    assert NOT_TOLD not in ito.get(r.request.path).get_data(as_text=True)


def test_a_reply_says_so_on_the_page_or_in_the_htmx_form(hub: Flask) -> None:
    ito = signed_in(hub, "ito@corp.example")
    r = ito.post("/t/1/reply", data={"body": "@tanaka see above"}, follow_redirects=True)
    assert NOT_TOLD in r.get_data(as_text=True)
    r = ito.post("/t/1/reply", data={"body": "@tanaka and @sato, again"}, headers=HX)
    form = r.get_data(as_text=True).split('id="reply-form"', 1)[1]
    assert NOT_TOLD in form
    r = ito.post("/t/1/reply", data={"body": "@sato only"}, headers=HX)
    assert "not notified" not in r.get_data(as_text=True)


def test_nobody_out_of_reach_says_nothing(hub: Flask) -> None:
    ito = signed_in(hub, "ito@corp.example")
    r = ito.post("/t/1/reply", data={"body": "@sato @nobody hello"}, follow_redirects=True)
    assert "not notified" not in r.get_data(as_text=True)
