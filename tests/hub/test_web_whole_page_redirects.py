"""Where the sign-in page and the rules send a member back to, and how htmx is sent there: a
fragment (the thread's poll) moves the whole tab with HX-Redirect, a page gets a redirect; the
way back is the page the member was on, never the fragment or a POST-only address."""

from __future__ import annotations

import pytest

from hub import db
from hub.models import Via
from hub.services import rules
from tests.factories import make_channel, make_thread, make_user, signed_in


def poll(thread_id: int) -> dict[str, str]:
    """The headers of the thread page's 3-second poll."""
    return {"HX-Request": "true", "HX-Current-URL": f"http://hub.test/t/{thread_id}"}


@pytest.fixture
def thread_id(app) -> int:
    with db.transaction(app) as s:
        admin = make_user(s, email="admin@corp.example", name="Admin", admin=True)
        taro = make_user(s, email="taro@corp.example", name="Taro")
        rules.set_rules(s, actor=admin, markdown="# Rules")
        rules.accept_rules(s, taro, Via.WEB)
        channel = make_channel(s, slug="general", name="General", creator=admin)
        post = make_thread(s, channel=channel, author=admin, title="Lunch", body="Noon?")
        return post.thread_id


def _ask_again(app) -> None:
    with db.transaction(app) as s:
        rules.set_rules(s, actor=None, markdown="# Rules, again", ask_again=True)


def test_the_poll_of_a_signed_out_tab_moves_the_tab_to_sign_in(client, thread_id) -> None:
    r = client.get(f"/t/{thread_id}/posts?after=0", headers=poll(thread_id))
    assert r.status_code == 200 and r.headers["HX-Redirect"] == f"/login?next=/t/{thread_id}"
    assert r.get_data() == b""
    # A page (boosted or not) is redirected as before, back to itself.
    r = client.get(f"/t/{thread_id}?before=5", headers={"HX-Request": "true", "HX-Boosted": "1"})
    assert r.status_code == 302 and r.location == f"/login?next=/t/{thread_id}?before%3D5"
    assert "HX-Redirect" not in r.headers


def test_a_form_sent_after_the_session_ended_comes_back_to_its_page(client, thread_id) -> None:
    page = {"HX-Request": "true", "HX-Boosted": "1", "HX-Current-URL": "http://hub.test/settings"}
    r = client.post("/settings/password", headers=page, data={"current": "x"})
    assert r.status_code == 302 and r.location == "/login?next=/settings"
    r = client.post("/settings/password", headers={"Referer": "http://hub.test/settings"})
    assert r.location == "/login?next=/settings"
    # A page on another site is no way back.
    r = client.post("/settings/password", headers={"Referer": "http://evil.example/settings"})
    assert r.location == "/login"


def test_changed_rules_move_a_polling_tab_to_the_rules(app, thread_id) -> None:
    taro = signed_in(app, "taro@corp.example")
    _ask_again(app)
    r = taro.get(f"/t/{thread_id}/posts?after=0", headers=poll(thread_id))
    assert r.status_code == 200 and r.headers["HX-Redirect"] == f"/rules?next=/t/{thread_id}"
    r = taro.get(f"/t/{thread_id}")
    assert r.status_code == 303 and r.location == f"/rules?next=/t/{thread_id}"
    page = {"Referer": f"http://hub.test/t/{thread_id}"}
    r = taro.post(f"/t/{thread_id}/reply", data={"body": "hi"}, headers=page)
    assert r.status_code == 303 and r.location == f"/rules?next=/t/{thread_id}"
