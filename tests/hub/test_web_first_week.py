"""What a company's first week on the web hub runs into: error pages in the member's language,
odd input that must not break a page, forms that keep what was typed."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from hub.models import User
from tests.factories import make_channel, make_thread, make_user, signed_in


def _world(session: Any) -> dict[str, Any]:
    member = make_user(session, email="member@corp.example", name="田中 健太", locale="ja")
    channel = make_channel(session, slug="general", name="全体", creator=member)
    first = make_thread(session, channel=channel, author=member, title="予算", body="来期の予算")
    session.commit()
    return {"member": member, "channel": channel, "thread_id": first.thread_id}


def test_odd_query_strings_answer_without_a_server_error(app: Flask, session: Any) -> None:
    w = _world(session)
    client = signed_in(app, "member@corp.example")
    huge = "9" * 30
    for path in (
        "/search?q=%00",
        "/search?q=a%00b",
        f"/t/{w['thread_id']}?before={huge}",
        f"/t/{w['thread_id']}/posts?before={huge}",
        f"/t/{w['thread_id']}/posts?after={huge}",
        f"/c/general?before={huge}",
        f"/c/general?before=2026-01-01T00:00:00,{huge}",
        f"/p/{huge}",
        f"/t/{huge}",
        f"/thanks/member/{huge}",
    ):
        res = client.get(path, headers={"HX-Request": "true"} if "posts" in path else {})
        assert res.status_code < 500, (path, res.status_code)


def test_a_server_error_page_is_in_the_members_language(database_url: str, tmp_path) -> None:
    from sqlalchemy import text

    from hub.db import get_session, transaction
    from tests.conftest import japanese_app

    with japanese_app(database_url, tmp_path) as app:
        app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the handler answers

        @app.get("/boom")
        def boom() -> str:
            # A failed statement leaves the request's transaction broken (on PostgreSQL).
            get_session().execute(text("SELECT * FROM no_such_table"))
            return "unreachable"

        with transaction(app) as session:
            make_user(session, email="member@corp.example", name="田中 健太", locale="ja")
        client = signed_in(app, "member@corp.example")
        res = client.get("/boom")
        page = res.get_data(as_text=True)
        assert res.status_code == 500
        assert "問題が発生しました" in page and "Internal Server Error" not in page
        assert "田中 健太" in page  # the usual page around it: the member is still signed in


def test_search_counts_in_plain_english_and_says_when_it_shows_only_the_newest(
    app: Flask, session: Any
) -> None:
    w = _world(session)
    client = signed_in(app, "member@corp.example")
    page = client.get("/search?q=予算").get_data(as_text=True)
    assert "「予算」の検索結果 1 件" in page  # the member reads Japanese
    for n in range(31):
        make_thread(session, channel=w["channel"], author=w["member"], title=f"議事録 {n}",
                    body="会議の議事録です")  # fmt: skip
    session.commit()
    page = client.get("/search?q=議事録").get_data(as_text=True)
    assert page.count('class="result"') == 30
    assert "「議事録」の検索結果のうち新しい 30 件を表示しています" in page


def test_refused_settings_keep_every_field_as_typed_and_say_what_is_wrong(
    app: Flask, session: Any
) -> None:
    _world(session)
    client = signed_in(app, "member@corp.example")
    form = {
        "name": "田中 健太（営業部）",
        "locale": "en",
        "timezone": "Europe/London",
        "working_days": ["mon", "tue"],
        "work_start": "09:00",
        "work_end": "09:00",
        "digest_hour": "7",
        "delivery": "",
    }
    res = client.post("/settings", data=form)
    page = res.get_data(as_text=True)
    assert res.status_code == 422
    # In the member's saved language (Japanese): the refused form changed nothing yet.
    assert "始業と終業を同じ時刻にはできません" in page and "working hours:" not in page
    assert 'value="田中 健太（営業部）"' in page
    assert '<option value="en" selected>' in page
    assert "<option selected>Europe/London</option>" in page
    assert '<option value="7" selected>07:00</option>' in page
    assert page.count('name="working_days"') == 7
    assert page.count('name="working_days" value="mon" checked') == 1
    assert 'name="working_days" value="wed" checked' not in page
    # Nothing of it was saved.
    session.expire_all()
    saved = session.scalar(select(User).where(User.email == "member@corp.example"))
    assert saved.name == "田中 健太" and saved.locale == "ja"
    session.rollback()  # SQLite: end the read before the next request writes

    res = client.post("/settings", data={**form, "working_days": [], "work_end": "18:00"})
    assert "勤務日を1日以上選んでください。" in res.get_data(as_text=True)


def test_a_refused_announcement_keeps_the_text_and_never_goes_to_everyone_by_mistake(
    app: Flask, session: Any
) -> None:
    from hub.models import Announcement

    w = _world(session)
    make_user(session, email="admin@corp.example", name="管理者", admin=True)
    session.commit()
    channel_id = w["channel"].id
    session.rollback()
    client = signed_in(app, "admin@corp.example")
    form = {"title": "人事からのお知らせ", "body": "評価面談の日程です。", "audience": "channels",
            "ack_required": "1", "remind_every_days": "2"}  # fmt: skip
    # "Members of these channels" with no channel ticked.
    res = client.post("/admin/announcements", data=form)
    page = res.get_data(as_text=True)
    assert res.status_code == 422
    assert "Choose at least one channel, or send it to everyone." in page
    assert 'value="人事からのお知らせ"' in page and "評価面談の日程です。</textarea>" in page
    assert 'value="channels" checked' in page and 'value="2"' in page
    res = client.post("/admin/announcements", data={**form, "title": " ", "audience": "everyone"})
    assert "Please give the announcement a title." in res.get_data(as_text=True)
    res = client.post("/admin/announcements", data={**form, "remind_every_days": "毎週"})
    assert res.status_code == 422
    assert session.scalar(select(Announcement)) is None
    session.rollback()
    res = client.post("/admin/announcements", data={**form, "channel_ids": [str(channel_id)]})
    assert res.status_code == 303
