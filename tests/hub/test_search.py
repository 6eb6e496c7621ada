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


def _thread_matching_three_times(session):
    """A thread whose title and two replies hold 予算 (its first post does not), and a newer one."""
    alice, bob = make_user(session, name="Alice"), make_user(session, name="Bob")
    chan = make_channel(session, slug="keiri", name="経理")
    thread = make_thread(session, channel=chan, author=alice, title="予算の相談",
                         body="来週の件です。").thread  # fmt: skip
    threads.reply(session, author=bob, thread=thread, body="予算は足りますか", via="web")
    threads.reply(session, author=alice, thread=thread, body="予算を増やしました", via="web")
    newer = make_thread(session, channel=chan, author=bob, title="出張", body="予算の範囲で")
    session.commit()
    return alice, bob, thread, newer.thread


def test_a_thread_is_listed_once_with_its_first_matching_post(session):
    alice, _, thread, newer = _thread_matching_three_times(session)
    hits = search.search(session, alice, "予算")
    assert [h.thread_id for h in hits] == [newer.id, thread.id]
    # The snippet is the first post whose own text holds the word, not the title-only first post.
    found = hits[1]
    assert found.snippet == "<mark>予算</mark>は足りますか" and found.author_name == "Bob"
    assert found.title_html == "<mark>予算</mark>の相談"
    assert found.post_id == thread.posts[1].id


def test_threads_are_ordered_by_their_newest_matching_post(session):
    alice, bob, thread, newer = _thread_matching_three_times(session)
    threads.reply(session, author=bob, thread=thread, body="予算、承認されました", via="web")
    session.commit()
    assert [h.thread_id for h in search.search(session, alice, "予算")] == [thread.id, newer.id]
    # A post holding every term beats one holding only some of them (the rest in the title).
    (hit,) = search.search(session, alice, "予算 承認")
    assert hit.snippet.striptags() == "予算、承認されました"


def test_title_only_match_shows_the_first_post_once(session):
    alice, _, thread, _ = _thread_matching_three_times(session)
    (hit,) = search.search(session, alice, "相談")
    assert hit.thread_id == thread.id and hit.post_id == thread.posts[0].id
    assert hit.snippet == "来週の件です。"


def test_long_term_through_the_trigram_index_lists_a_thread_once(session):
    alice, bob = make_user(session), make_user(session)
    chan = make_channel(session)
    first = make_thread(session, channel=chan, author=alice, title="Budget 2025", body="Plan.")
    threads.reply(session, author=bob, thread=first.thread, body="The budget is fine.", via="web")
    threads.reply(session, author=alice, thread=first.thread, body="budget: +5%", via="web")
    session.commit()
    (hit,) = search.search(session, alice, "BUDGET")
    assert hit.snippet == "The <mark>budget</mark> is fine."
