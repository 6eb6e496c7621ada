"""Night-shift working hours through the settings page and the signed preferences page (test
client, both databases): saved, explained ("until 06:00 the next day"), and then obeyed by
quiet hours; all day and equal times keep their meaning."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from hub.models import Delivery, OutboxMessage, User
from hub.services import accounts, channels
from mailbridge import fanout, outbound
from tests.factories import make_channel, make_thread, make_user, signed_in

FORM = {
    "name": "夜勤 太郎",
    "locale": "en",
    "timezone": "Asia/Tokyo",
    "working_days": ["mon", "tue", "wed", "thu", "fri"],
    "digest_hour": "22",
    "delivery": "",
}


def saved(session: Any, email: str) -> User:
    session.expire_all()
    user = session.scalar(select(User).where(User.email == email))
    assert user is not None
    return user


def test_settings_take_a_night_shift_and_say_it_ends_the_next_day(app: Flask, session: Any) -> None:
    make_user(session, email="yakin@corp.example", locale="en")
    session.commit()
    client = signed_in(app, "yakin@corp.example")
    res = client.post("/settings", data={**FORM, "work_start": "22:00", "work_end": "06:00"})
    assert res.status_code == 303
    user = saved(session, "yakin@corp.example")
    assert (user.work_start, user.work_end) == (22 * 60, 6 * 60)
    assert accounts.user_as_dict(user)["working_hours"] == "22:00-06:00"
    session.rollback()  # SQLite: end the read before the next request
    page = client.get("/settings").get_data(as_text=True)
    assert 'name="work_start" value="22:00"' in page
    assert 'name="work_end" value="06:00"' in page
    assert "From 22:00 until 06:00 the next day" in page

    # Saturday 03:00 in Tokyo belongs to Friday's shift: a post then reaches the member now.
    member = saved(session, "yakin@corp.example")
    accounts.update_preferences(session, member, delivery=Delivery.EVERY_POST)
    channel = make_channel(session, slug="line")
    channels.join(session, user=member, channel=channel)
    make_thread(session, channel=channel, author=make_user(session), title="Line 3", body="x")
    session.commit()
    saturday_3 = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    fanout.fan_out(app, now=saturday_3)
    row = session.scalar(select(OutboxMessage).where(OutboxMessage.to_addr == member.email))
    assert row is not None and row.not_before == saturday_3


def test_all_day_shows_as_midnight_to_midnight_and_stays_all_day(app: Flask, session: Any) -> None:
    make_user(session, email="allday@corp.example", working_hours="00:00-24:00")
    session.commit()
    client = signed_in(app, "allday@corp.example")
    page = client.get("/settings").get_data(as_text=True)
    # 24:00 is no value an <input type=time> takes: the form showed an empty end before.
    assert 'name="work_end" value="00:00"' in page and "All day" in page
    session.rollback()
    res = client.post("/settings", data={**FORM, "work_start": "00:00", "work_end": "00:00"})
    assert res.status_code == 303
    user = saved(session, "allday@corp.example")
    assert (user.work_start, user.work_end) == (0, 24 * 60)
    session.rollback()
    # An end of 00:00 after a later start is midnight, not a shift of almost a day.
    client.post("/settings", data={**FORM, "work_start": "17:00", "work_end": "00:00"})
    user = saved(session, "allday@corp.example")
    assert (user.work_start, user.work_end) == (17 * 60, 24 * 60)


def test_equal_times_are_refused_with_what_to_write_instead(app: Flask, session: Any) -> None:
    make_user(session, email="same@corp.example", working_hours="09:00-18:00")
    session.commit()
    client = signed_in(app, "same@corp.example")
    res = client.post("/settings", data={**FORM, "work_start": "08:00", "work_end": "08:00"})
    page = res.get_data(as_text=True)
    assert res.status_code == 422
    assert "Work cannot start and end at the same time" in page
    assert "22:00 to 06:00 for a night shift" in page
    assert 'name="work_start" value="08:00"' in page
    user = saved(session, "same@corp.example")
    assert (user.work_start, user.work_end) == (9 * 60, 18 * 60)


def _prefs(app: Flask, user_id: int) -> str:
    return outbound.prefs_url(app, user_id).removeprefix(app.config["BASE_URL"])


def test_the_signed_preferences_page_sets_days_and_a_night_shift(app: Flask, session: Any) -> None:
    boss = make_user(session, email="boss@corp.example", email_only=True, locale="en",
                     working_days="mon-fri", working_hours="09:00-18:00")  # fmt: skip
    session.commit()
    url, client = _prefs(app, boss.id), app.test_client()
    session.rollback()
    page = client.get(url).get_data(as_text=True)
    assert 'name="work_start" value="09:00"' in page and 'name="work_end" value="18:00"' in page
    assert "For a night shift, end before you start" in page
    form = {"delivery": "", "digest_hour": "22", "work_start": "22:00", "work_end": "06:00",
            "working_days": ["mon", "tue", "wed", "thu", "fri", "sat"]}  # fmt: skip
    res = client.post(url, data=form)
    assert res.status_code == 200 and "Saved." in res.get_data(as_text=True)
    assert "From 22:00 until 06:00 the next day" in res.get_data(as_text=True)
    user = saved(session, "boss@corp.example")
    assert (user.work_start, user.work_end, user.digest_hour) == (1320, 360, 22)
    assert user.working_days == "mon,tue,wed,thu,fri,sat"
    session.rollback()

    # Equal times are refused; what was typed stays on the page and nothing is saved.
    res = client.post(url, data={**form, "work_end": "22:00", "working_days": ["sun"]})
    page = res.get_data(as_text=True)
    assert res.status_code == 422
    assert "Work cannot start and end at the same time" in page and "working hours:" not in page
    assert 'name="work_end" value="22:00"' in page
    assert re.search(r'value="sun"\s+checked', page)
    assert not re.search(r'value="mon"\s+checked', page)
    user = saved(session, "boss@corp.example")
    assert (user.work_end, user.working_days) == (360, "mon,tue,wed,thu,fri,sat")
    session.rollback()

    # A form from before the page had hours (only delivery) leaves days and hours alone.
    assert client.post(url, data={"delivery": "weekly", "digest_hour": "7"}).status_code == 200
    user = saved(session, "boss@corp.example")
    assert (user.work_start, user.work_end, user.delivery) == (1320, 360, Delivery.WEEKLY)
