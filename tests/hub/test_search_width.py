"""Search ignores character width: 「Ａ社」 and 「A社」, 「１０％」 and 「10%」, 「ｶﾀﾛｸﾞ」 and
「カタログ」 find each other (queries and indexed text are NFKC), in bodies and titles, short
and long terms, after an edit too; the snippet marks the words as written. SQLite and
PostgreSQL."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import delete
from sqlalchemy.orm import Session

from hub.models import Post
from hub.services import search, threads
from tests.factories import make_channel, make_thread, make_user


def _posts(session: Session) -> object:
    reader = make_user(session, name="佐藤")
    channel = make_channel(session, slug="sales", name="営業")
    for title, body in (
        ("値引きの件", "Ａ社から値引きの相談がありました。"),
        ("今期の目標", "売上は前年比10%増を目指します。"),
        ("見積もり", "B社向けの見積もりは１２％引きで出しました。"),
        ("資料", "新しいｶﾀﾛｸﾞを共有します。"),
        ("ＸＹＺ商事の件", "先方から連絡がありました。"),
        ("展示会", "ABC商事さんも来場予定です。"),
    ):
        make_thread(session, channel=channel, author=reader, title=title, body=body)
    session.commit()
    return reader


def _titles(session: Session, reader: object, query: str) -> list[str]:
    return sorted(hit.thread_title for hit in search.search(session, reader, query))


def test_full_width_and_ordinary_letters_and_digits_find_each_other(session):
    reader = _posts(session)
    for query, title in (
        ("A社", "値引きの件"),  # full-width in the post, two characters (LIKE on SQLite)
        ("Ａ社", "値引きの件"),
        ("a社", "値引きの件"),
        ("１０％", "今期の目標"),  # full-width query, ordinary post
        ("10%増", "今期の目標"),  # three characters and more: the trigram index
        ("１０％増", "今期の目標"),
        ("12%引き", "見積もり"),
        ("ｂ社", "見積もり"),
        ("カタログ", "資料"),  # half-width kana in the post
        ("ｶﾀﾛｸﾞ", "資料"),
        ("XYZ", "ＸＹＺ商事の件"),  # a title in full width
        ("ＡＢＣ商事", "展示会"),
    ):
        assert _titles(session, reader, query) == [title], query


def test_the_snippet_marks_the_words_as_written(session):
    reader = _posts(session)
    (hit,) = search.search(session, reader, "a社")
    assert "<mark>Ａ社</mark>から値引き" in hit.snippet
    (hit,) = search.search(session, reader, "１０％")
    assert "前年比<mark>10%</mark>増" in hit.snippet
    (hit,) = search.search(session, reader, "カタログ")
    assert "新しい<mark>ｶﾀﾛｸﾞ</mark>を" in hit.snippet
    (hit,) = search.search(session, reader, "xyz")
    assert hit.title_html == "<mark>ＸＹＺ</mark>商事の件"


def test_an_edited_or_removed_post_is_found_by_its_new_words_only(session):
    reader = _posts(session)
    (hit,) = search.search(session, reader, "A社から値引き")
    post = session.get(Post, hit.post_id)
    threads.edit_post(
        session, editor=post.author, post=post, body="Ｃ社から返品の相談がありました。"
    )
    session.commit()
    assert _titles(session, reader, "A社から値引き") == []
    assert _titles(session, reader, "C社から返品") == ["値引きの件"]
    session.execute(delete(Post).where(Post.id == hit.post_id))
    session.commit()
    assert _titles(session, reader, "C社から返品") == []
    assert _titles(session, reader, "10%増") == ["今期の目標"]


def test_the_search_page_finds_full_width_words(app: Flask, client, auth, session):
    _posts(session)
    make_user(session, email="tanaka@corp.example")
    session.commit()
    auth.login("tanaka@corp.example")
    for query, title in (("Ａ社", "値引きの件"), ("A社", "値引きの件"), ("１０％", "今期の目標")):
        page = client.get("/search", query_string={"q": query})
        assert page.status_code == 200 and title in page.text, query
