"""Night shifts: working hours that run past midnight (22:00-06:00), with a frozen clock across
time zones, through fan-out and a real SMTP sink.

A shift belongs to the working day it starts on: with Monday to Friday, Friday 22:00 to Saturday
06:00 is working time, Sunday 22:00 to Monday 06:00 is not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hub.errors import Invalid
from hub.models import Delivery, OutboxMessage, Via
from hub.services import accounts, channels, threads, working_time
from mailbridge import delivery, fanout, quiet
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import to

TOKYO = ZoneInfo("Asia/Tokyo")
BERLIN = ZoneInfo("Europe/Berlin")


def at(zone: ZoneInfo, *fields: int) -> datetime:
    """A local wall-clock time in ``zone``, as the UTC instant the outbox stores."""
    return datetime(*fields, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


def shift(tz: str, hours: str = "22:00-06:00", days: str = "mon-fri") -> Any:
    start, end = working_time.parse_working_hours(hours)
    return SimpleNamespace(
        timezone=tz,
        working_days=working_time.parse_working_days(days),
        work_start=start,
        work_end=end,
    )


# 27 November 2026 is a Friday; 30 November a Monday.
@pytest.mark.parametrize(
    ("zone", "name"), [(TOKYO, "Asia/Tokyo"), (BERLIN, "Europe/Berlin")], ids=["tokyo", "berlin"]
)
@pytest.mark.parametrize(
    ("local", "working", "next_start"),
    [
        # Friday's shift runs into Saturday morning.
        ((2026, 11, 27, 21, 59), False, (2026, 11, 27, 22, 0)),
        ((2026, 11, 27, 22, 0), True, None),
        ((2026, 11, 27, 23, 30), True, None),
        ((2026, 11, 28, 3, 0), True, None),
        ((2026, 11, 28, 5, 59), True, None),
        # Saturday 06:00: Friday's shift is over and Saturday is no working day.
        ((2026, 11, 28, 6, 0), False, (2026, 11, 30, 22, 0)),
        ((2026, 11, 28, 22, 30), False, (2026, 11, 30, 22, 0)),
        # Sunday night is no shift (Sunday is no working day), so Monday 03:00 is quiet.
        ((2026, 11, 29, 23, 0), False, (2026, 11, 30, 22, 0)),
        ((2026, 11, 30, 3, 0), False, (2026, 11, 30, 22, 0)),
        # Monday's shift; Tuesday morning belongs to it.
        ((2026, 12, 1, 5, 0), True, None),
        ((2026, 12, 1, 12, 0), False, (2026, 12, 1, 22, 0)),
    ],
)
def test_a_night_shift_belongs_to_the_day_it_starts_on(
    zone: ZoneInfo,
    name: str,
    local: tuple[int, ...],
    working: bool,
    next_start: tuple[int, ...] | None,
) -> None:
    member = shift(name)
    now = at(zone, *local)
    assert quiet.is_working_time(member, now) is working
    expected = now if next_start is None else at(zone, *next_start)
    assert quiet.next_allowed(member, now) == expected
    assert quiet.release_at(member, now, urgent=True) == now


def test_the_same_instant_is_shift_in_one_zone_and_quiet_in_the_other() -> None:
    # Saturday 28 November 2026 02:00 in Tokyo is Friday 18:00 in Berlin.
    now = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert quiet.is_working_time(shift("Asia/Tokyo"), now)
    assert not quiet.is_working_time(shift("Europe/Berlin"), now)
    assert quiet.next_allowed(shift("Europe/Berlin"), now) == at(BERLIN, 2026, 11, 27, 22, 0)


def test_the_night_the_clocks_go_back_is_one_shift() -> None:
    # Berlin leaves summer time on Sunday 25 October 2026 at 03:00 CEST (01:00 UTC): Saturday's
    # shift of a member working every day lasts nine hours, until 06:00 CET (05:00 UTC).
    member = shift("Europe/Berlin", days="mon-sun")
    assert quiet.is_working_time(member, datetime(2026, 10, 24, 20, 0, tzinfo=UTC))  # 22:00 CEST
    assert quiet.is_working_time(member, datetime(2026, 10, 25, 4, 59, tzinfo=UTC))  # 05:59 CET
    off = datetime(2026, 10, 25, 5, 0, tzinfo=UTC)  # 06:00 CET
    assert not quiet.is_working_time(member, off)
    assert quiet.next_allowed(member, off) == datetime(2026, 10, 25, 21, 0, tzinfo=UTC)


def test_all_day_and_day_hours_keep_their_meaning() -> None:
    all_day = shift("Asia/Tokyo", "00:00-24:00")
    assert not quiet.overnight(all_day)
    for hour in (0, 5, 12, 23):
        assert quiet.is_working_time(all_day, at(TOKYO, 2026, 11, 27, hour, 59))
    # Saturday is no working day, whatever the hour; Monday 00:00 starts the next.
    saturday = at(TOKYO, 2026, 11, 28, 1, 0)
    assert not quiet.is_working_time(all_day, saturday)
    assert quiet.next_allowed(all_day, saturday) == at(TOKYO, 2026, 11, 30, 0, 0)
    office = shift("Asia/Tokyo", "09:00-18:00")
    assert not quiet.is_working_time(office, at(TOKYO, 2026, 11, 28, 3, 0))
    assert quiet.next_allowed(office, at(TOKYO, 2026, 11, 27, 18, 0)) == at(
        TOKYO, 2026, 11, 30, 9, 0
    )


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("22:00-06:00", (1320, 360)),
        ("23:30 - 7:15", (1410, 435)),
        ("22:00〜06:00", (1320, 360)),
        ("00:00-24:00", (0, 1440)),
        ("17:00-00:00", (1020, 1440)),
        ("09:00-18:00", (540, 1080)),
    ],
)
def test_hours_that_cross_midnight_are_accepted(text: str, minutes: tuple[int, int]) -> None:
    assert working_time.parse_working_hours(text) == minutes


@pytest.mark.parametrize(
    "text", ["09:00-09:00", "00:00-00:00", "22:00-22:00", "24:00-06:00", "22:60-06:00", "late"]
)
def test_equal_or_impossible_hours_are_still_refused(text: str) -> None:
    with pytest.raises(Invalid):
        working_time.parse_working_hours(text)


def night_worker(session: Any, email: str, tz: str, **kw: Any) -> Any:
    return make_user(
        session, email=email, timezone=tz, working_days="mon-fri",
        working_hours="22:00-06:00", **kw,
    )  # fmt: skip


def test_mail_reaches_the_night_shift_in_its_shift_and_waits_outside_it(
    app: Any, session: Any, smtp_sink: Any
) -> None:
    app.config["RELAY_URL"] = smtp_sink.url
    tokyo = night_worker(session, "yakin@corp.example", "Asia/Tokyo")
    berlin = night_worker(session, "nacht@corp.example", "Europe/Berlin")
    author = make_user(session, email="author@corp.example")
    channel = make_channel(session, slug="line")
    for u in (tokyo, berlin):
        accounts.update_preferences(session, u, delivery=Delivery.EVERY_POST)
        channels.join(session, user=u, channel=channel)
    thread = make_thread(session, channel=channel, author=author, title="Line 3", body="start")
    session.commit()
    # Saturday 03:00 in Tokyo (Friday's shift) = Friday 19:00 in Berlin (before the shift).
    saturday_3_tokyo = at(TOKYO, 2026, 11, 28, 3, 0)
    fanout.fan_out(app, now=saturday_3_tokyo)
    rows = {r.to_addr: r for r in session.scalars(select(OutboxMessage))}
    assert rows["yakin@corp.example"].not_before == saturday_3_tokyo
    assert rows["nacht@corp.example"].not_before == at(BERLIN, 2026, 11, 27, 22, 0)
    session.rollback()
    delivery.drain_outbox(app, now=saturday_3_tokyo)
    assert len(to(smtp_sink, "yakin@corp.example")) == 1
    assert to(smtp_sink, "nacht@corp.example") == []
    # Friday 22:00 in Berlin: the shift starts and the waiting mail goes.
    delivery.drain_outbox(app, now=at(BERLIN, 2026, 11, 27, 22, 0))
    assert len(to(smtp_sink, "nacht@corp.example")) == 1

    # Saturday 10:00 in Tokyo: after Friday's shift, and no shift on Saturday or Sunday night.
    threads.reply(session, author=author, thread=thread.thread, body="day shift note", via=Via.WEB)
    session.commit()
    saturday_10_tokyo = at(TOKYO, 2026, 11, 28, 10, 0)
    fanout.fan_out(app, now=saturday_10_tokyo)
    waiting = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_addr == "yakin@corp.example")
        .where(OutboxMessage.status == "pending")
    ).one()  # fmt: skip
    assert waiting.not_before == at(TOKYO, 2026, 11, 30, 22, 0)
    session.rollback()
    # It is Saturday 02:00 in Berlin, still Friday's shift there: that copy goes now.
    assert delivery.drain_outbox(app, now=saturday_10_tokyo) == 1
    assert len(to(smtp_sink, "nacht@corp.example")) == 2
    assert delivery.drain_outbox(app, now=at(TOKYO, 2026, 11, 30, 21, 59)) == 0
    assert len(to(smtp_sink, "yakin@corp.example")) == 1
    # Monday 22:00 in Tokyo: Monday's shift starts.
    delivery.drain_outbox(app, now=at(TOKYO, 2026, 11, 30, 22, 0))
    mails = to(smtp_sink, "yakin@corp.example")
    assert len(mails) == 2 and "day shift note" in mails[-1].get_body().get_content()
