"""Search without HTTP: Japanese short and long words, titles, private channels, deleted posts."""

from __future__ import annotations

from hub.services import channels, search, threads
from tests.factories import make_channel, make_thread, make_user


def _corpus(session):
    alice, bob = make_user(session, name="Alice"), make_user(session, name="Bob")
    open_ch = make_channel(session, slug="sales", name="営業")
    hr = make_channel(session, slug="jinji", name="人事", private=True, reason="個人情報")
    channels.add_member(session, user=alice, channel=hr, actor=None)
    first = make_thread(session, channel=open_ch, author=alice, title="見積もりの件",
                        body="来期の予算会議は火曜です。")  # fmt: skip
    threads.reply(session, author=bob, thread=first.thread, body="Budget is fine.", via="web")
    make_thread(session, channel=hr, author=alice, title="採用", body="採用予算の案です。")
    make_thread(session, channel=open_ch, author=bob, title="予算の締め切り", body="金曜までに。")
    session.commit()
    return alice, bob


def test_two_character_japanese_word_is_found(session):
    alice, _ = _corpus(session)
    hits = search.search(session, alice, "予算")
    bodies = {h.snippet.striptags() for h in hits}
    assert "来期の予算会議は火曜です。" in bodies
    assert "採用予算の案です。" in bodies  # alice is a member of the private channel
    assert all("<mark>予算</mark>" in (h.snippet + h.title_html) for h in hits)


def test_four_character_query_uses_the_trigram_index(session):
    alice, _ = _corpus(session)
    hits = search.search(session, alice, "予算会議")
    assert [h.snippet.striptags() for h in hits] == ["来期の予算会議は火曜です。"]
    assert "<mark>予算会議</mark>" in hits[0].snippet


def test_private_channel_is_excluded_for_non_members(session):
    _, bob = _corpus(session)
    hits = search.search(session, bob, "予算")
    assert hits and all(h.channel_slug != "jinji" for h in hits)
    assert search.search(session, bob, "採用") == []


def test_thread_title_match_and_ascii_case(session):
    alice, _ = _corpus(session)
    titles = [h.thread_title for h in search.search(session, alice, "締め切り")]
    assert titles == ["予算の締め切り"]
    assert [h.author_name for h in search.search(session, alice, "BUDGET")] == ["Bob"]


def test_deleted_and_hidden_posts_never_appear(session):
    alice, bob = _corpus(session)
    post = search.search(session, alice, "Budget")[0]
    target = threads.get_visible_post(session, post.post_id, viewer=bob)
    threads.delete_post(session, actor=bob, post=target)
    hidden = make_thread(session, channel=target.thread.channel, author=alice, title="x",
                         body="秘密のbudget")  # fmt: skip
    hidden.hidden = True
    session.commit()
    assert search.search(session, alice, "budget") == []


def test_snippet_escapes_html(session):
    alice = make_user(session)
    chan = make_channel(session)
    make_thread(session, channel=chan, author=alice, body="<script>alert(1)</script> 予算")
    session.commit()
    (hit,) = search.search(session, alice, "予算")
    assert "<script>" not in hit.snippet and "&lt;script&gt;" in hit.snippet


def test_empty_query_and_like_wildcards(session):
    alice, _ = _corpus(session)
    assert search.search(session, alice, "   ") == []
    assert search.search(session, alice, "%") == []
    assert search.search(session, alice, "_") == []
