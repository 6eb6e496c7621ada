"""Quiet hours: mail that is not urgent reaches a member only in their working time.

Each member has a time zone, working days ("mon,tue,...") and working hours (minutes after local
midnight; an end before the start runs into the next morning, and the shift belongs to the day it
starts on). Everything here takes ``now`` explicitly, so tests freeze the clock by passing it;
``frozen(now)`` lets a caller (``fan_out(now=...)``) hand its clock to handlers that take none.

>>> from types import SimpleNamespace as NS
>>> from datetime import datetime, UTC
>>> tokyo = NS(timezone="Asia/Tokyo", working_days="mon,tue,wed,thu,fri",
...            work_start=9 * 60, work_end=18 * 60)
>>> friday_night = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)   # 21:00 Friday in Tokyo
>>> next_allowed(tokyo, friday_night).isoformat()               # Monday 09:00 JST
'2026-11-30T00:00:00+00:00'
>>> is_working_time(tokyo, datetime(2026, 11, 27, 1, 0, tzinfo=UTC))   # 10:00 JST
True
>>> night = NS(timezone="Asia/Tokyo", working_days="mon,tue,wed,thu,fri",
...            work_start=22 * 60, work_end=6 * 60)
>>> is_working_time(night, datetime(2026, 11, 27, 18, 0, tzinfo=UTC))  # Saturday 03:00 JST
True
>>> next_allowed(night, datetime(2026, 11, 27, 22, 0, tzinfo=UTC)).isoformat()  # Sat 07:00
'2026-11-30T13:00:00+00:00'
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.db import utcnow

__all__ = [
    "clock_now",
    "frozen",
    "is_working_time",
    "local_now",
    "next_allowed",
    "next_working_start",
    "overnight",
    "release_at",
    "shift_day",
]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NOW: ContextVar[datetime | None] = ContextVar("hiroba_now", default=None)


class Schedule(Protocol):
    """What quiet hours need of a member (a User, or anything shaped like one)."""

    timezone: str
    working_days: str
    work_start: int
    work_end: int


def clock_now() -> datetime:
    """The frozen time if a caller set one with ``frozen``, else the real UTC time."""
    return _NOW.get() or utcnow()


@contextlib.contextmanager
def frozen(now: datetime | None) -> Iterator[None]:
    """Make ``clock_now()`` return ``now`` inside the block (no-op for None)."""
    token = _NOW.set(now) if now is not None else None
    try:
        yield
    finally:
        if token is not None:
            _NOW.reset(token)


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The member's zone; an unknown name falls back to Asia/Tokyo rather than failing mail."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Tokyo")


@lru_cache(maxsize=256)
def _days(text: str) -> frozenset[int]:
    return frozenset(DAYS.index(d) for d in text.split(",") if d in DAYS)


def local_now(user: Schedule | Any, now: datetime) -> datetime:
    """``now`` in the member's time zone."""
    return now.astimezone(zone(user.timezone))


def _at(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """The local time ``minutes`` after midnight of ``day`` (24:00 is the next midnight)."""
    return datetime.combine(day, time(0), tzinfo=tz) + timedelta(minutes=minutes)


def overnight(user: Schedule | Any) -> bool:
    """Tell whether the member's hours run past midnight (a night shift, e.g. 22:00-06:00)."""
    return bool(user.work_end < user.work_start)


def shift_day(user: Schedule | Any, local: datetime) -> date:
    """The day whose shift the local time ``local`` belongs to: its own date, or the day before
    in the morning part of a night shift (Saturday 03:00 belongs to Friday's 22:00-06:00)."""
    minutes = local.hour * 60 + local.minute
    if overnight(user) and minutes < user.work_end:
        return local.date() - timedelta(days=1)
    return local.date()


def is_working_time(user: Schedule | Any, now: datetime) -> bool:
    """Tell whether ``now`` falls in the member's working days and hours.

    A shift belongs to the working day it starts on: with 22:00-06:00 and Friday a working
    day, Friday 22:00 to Saturday 06:00 is working time, Sunday 22:00 to Monday 06:00 is not.
    """
    local = local_now(user, now)
    if shift_day(user, local).weekday() not in _days(user.working_days):
        return False
    minutes = local.hour * 60 + local.minute
    if overnight(user):
        return minutes >= user.work_start or minutes < user.work_end
    return user.work_start <= minutes < user.work_end


def next_working_start(user: Schedule | Any, now: datetime) -> datetime:
    """The start of the member's next working period after ``now`` (UTC)."""
    tz = zone(user.timezone)
    local = now.astimezone(tz)
    days = _days(user.working_days) or frozenset(range(5))
    for ahead in range(0, 8):
        day = local.date() + timedelta(days=ahead)
        if day.weekday() not in days:
            continue
        start = _at(day, user.work_start, tz)
        if start > local:
            return start.astimezone(UTC)
    return (local + timedelta(days=1)).astimezone(UTC)


def next_allowed(user: Schedule | Any, now: datetime) -> datetime:
    """When a non-urgent mail written at ``now`` may reach the member: now, or their next start."""
    if is_working_time(user, now):
        return now
    return next_working_start(user, now)


def release_at(user: Schedule | Any, now: datetime, *, urgent: bool = False) -> datetime:
    """``next_allowed``, except that urgent mail always goes now."""
    return now if urgent else next_allowed(user, now)
