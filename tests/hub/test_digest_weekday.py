"""A member on the weekly digest chooses its weekday, on the settings page and on the signed
preferences page from a mail's footer (test client, both databases), and the digest then comes
on that day."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from hub.models import Delivery, User
from mailbridge import digests, outbound
from tests.factories import make_user, signed_in

FORM = {
    "name": "山田 太郎",
    "locale": "ja",
    "timezone": "Asia/Tokyo",
    "working_days": ["mon", "tue", "wed", "thu", "fri"],
    "work_start": "09:00",
    "work_end": "18:00",
    "digest_hour": "9",
    "delivery": "weekly",
}
# Friday 27 November 2026, 09:00 and Monday 30 November, 09:00 in Tokyo.
FRIDAY, MONDAY = datetime(2026, 11, 27, 0, 0, tzinfo=UTC), datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def saved(session: Any, email: str) -> User:
    session.expire_all()
    user = session.scalar(select(User).where(User.email == email))
    assert user is not None
    return user


def test_the_settings_page_sets_the_weekly_digest_day(app: Flask, session: Any) -> None:
    make_user(session, email="yamada@corp.example", locale="ja")
    session.commit()
    client = signed_in(app, "yamada@corp.example")
    page = client.get("/settings").get_data(as_text=True)
    assert "毎週のダイジェストの曜日" in page and '<option value="0" selected>月</option>' in page
    assert client.post("/settings", data={**FORM, "digest_weekday": "4"}).status_code == 303
    user = saved(session, "yamada@corp.example")
    assert user.delivery == Delivery.WEEKLY and user.digest_weekday == 4
    assert digests.due_period(user, FRIDAY) is not None
    assert digests.due_period(user, MONDAY) is None
    session.rollback()  # SQLite: end the read before the next request
    page = client.get("/settings").get_data(as_text=True)
    assert '<option value="4" selected>金</option>' in page
    # A day that is not one is refused with what was typed kept.
    refused = client.post("/settings", data={**FORM, "name": "山田 花子", "digest_weekday": "9"})
    assert refused.status_code == 422 and 'value="山田 花子"' in refused.get_data(as_text=True)
    assert saved(session, "yamada@corp.example").digest_weekday == 4


def test_the_signed_preferences_page_sets_it_too(app: Flask, session: Any) -> None:
    user = make_user(session, email="boss@corp.example", email_only=True, locale="ja")
    session.commit()
    client = app.test_client()
    path = outbound.prefs_url(app, user.id).removeprefix(app.config["BASE_URL"])
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "delivery": "weekly", "digest_hour": "9", "digest_weekday": "2",
            "timezone": "Asia/Tokyo", "working_days": ["mon", "tue", "wed", "thu", "fri"],
            "work_start": "09:00", "work_end": "18:00"}  # fmt: skip
    assert client.post(path, data=form).status_code == 200
    assert saved(session, "boss@corp.example").digest_weekday == 2
