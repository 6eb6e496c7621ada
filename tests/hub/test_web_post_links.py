"""A post's permalink opens the page of its thread that holds it: the newest page while the
post is among the newest 30, else the page starting at it; "Newer posts" goes on from there.
A boosted link gets HX-Redirect (htmx would follow a redirect without its #post-ID)."""

from __future__ import annotations

import pytest

from hub import db
from hub.models import Via
from hub.services import threads
from tests.factories import make_channel, make_thread, make_user, signed_in


def _thread(app, posts: int) -> list[int]:
    """A thread of ``posts`` posts; their ids, oldest first."""
    with db.transaction(app) as s:
        aoki = make_user(s, email="aoki@corp.example", name="Aoki")
        channel = make_channel(s, slug="general", name="General", creator=aoki)
        first = make_thread(s, channel=channel, author=aoki, title="Long", body="Post 1")
        thread = first.thread
        ids = [first.id]
        for n in range(2, posts + 1):
            ids.append(threads.reply(s, author=aoki, thread=thread, body=f"Post {n}",
                                     via=Via.WEB).id)  # fmt: skip
            s.flush()
        return ids


@pytest.mark.parametrize(("posts", "on_newest"), [(30, True), (31, False)])
def test_the_permalink_opens_the_page_holding_the_post(app, posts, on_newest) -> None:
    ids = _thread(app, posts)
    aoki = signed_in(app, "aoki@corp.example")
    r = aoki.get(f"/p/{ids[0]}")
    thread_page = r.location.split("#")[0]
    assert r.location.endswith(f"#post-{ids[0]}")
    assert thread_page == ("/t/1" if on_newest else f"/t/1?before={ids[30]}")
    page = aoki.get(thread_page).text
    assert f'id="post-{ids[0]}"' in page
    # A newer post is on the newest page.
    assert aoki.get(f"/p/{ids[-1]}").location == f"/t/1#post-{ids[-1]}"


def test_an_older_page_goes_on_to_the_newer_posts(app) -> None:
    ids = _thread(app, 65)
    aoki = signed_in(app, "aoki@corp.example")
    page = aoki.get(f"/t/1?before={ids[30]}").text
    assert f'id="post-{ids[0]}"' in page and f'id="post-{ids[30]}"' not in page
    assert f'id="newer" href="/t/1?before={ids[60]}"' in page
    assert 'id="poller"' not in page
    page = aoki.get(f"/t/1?before={ids[60]}").text
    assert f'id="post-{ids[30]}"' in page and 'id="newer" href="/t/1"' in page
    page = aoki.get("/t/1").text
    assert 'id="newer"' not in page and 'id="poller"' in page


def test_a_boosted_permalink_opens_the_page_itself(app) -> None:
    ids = _thread(app, 31)
    aoki = signed_in(app, "aoki@corp.example")
    r = aoki.get(f"/p/{ids[0]}", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert r.status_code == 200
    assert r.headers["HX-Redirect"] == f"/t/1?before={ids[30]}#post-{ids[0]}"
