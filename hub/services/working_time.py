"""A member's working time as people write it: days ("mon-fri", "月-金", "sat, mon"), hours
("09:00-18:00", a night shift "22:00-06:00") and a time zone name, read into what the member's
row stores and written back."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.errors import Invalid, Reason
from hub.models import ALL_DAYS

DAYS = ALL_DAYS.split(",")


def parse_working_days(text: str) -> str:
    """Turn "mon-fri", "mon,wed,fri" or "月-金" style input into "mon,tue,..." (canonical order).

    >>> parse_working_days("mon-fri")
    'mon,tue,wed,thu,fri'
    >>> parse_working_days("sat, mon")
    'mon,sat'
    >>> parse_working_days("mon-sun")
    'mon,tue,wed,thu,fri,sat,sun'
    """
    ja = dict(zip("月火水木金土日", DAYS, strict=True))
    chosen: set[str] = set()
    for part in re.split(r"[,\s、]+", text.strip().lower()):
        if not part:
            continue
        part = "".join(ja.get(ch, ch) for ch in part)
        ends = part.split("-")
        try:
            if len(ends) == 1:
                chosen.add(DAYS[DAYS.index(ends[0][:3])])
            elif len(ends) == 2:
                a, b = DAYS.index(ends[0][:3]), DAYS.index(ends[1][:3])
                span = range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)]
                chosen.update(DAYS[i] for i in span)
            else:
                raise ValueError(part)
        except ValueError:
            raise Invalid(Reason.INVALID_VALUE, f"working days: {text}") from None
    if not chosen:
        raise Invalid(Reason.INVALID_VALUE, f"working days: {text}")
    return ",".join(d for d in DAYS if d in chosen)


def parse_working_hours(text: str) -> tuple[int, int]:
    """Turn "09:00-18:00" into minutes after midnight (24:00 allowed as the end).

    An end earlier than the start runs into the next day (a night shift); an end of 00:00 after
    a later start is midnight, the same as 24:00. Equal start and end are refused (00:00-00:00
    too): all day is 00:00-24:00.

    >>> parse_working_hours("09:00-18:00")
    (540, 1080)
    >>> parse_working_hours("00:00-24:00")
    (0, 1440)
    >>> parse_working_hours("22:00-06:00")
    (1320, 360)
    >>> parse_working_hours("17:00-00:00")
    (1020, 1440)
    """
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*[-~\u301c\uff5e]\s*(\d{1,2}):(\d{2})\s*", text)
    if not m:
        raise Invalid(Reason.INVALID_VALUE, f"working hours: {text}")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end == 0 and start > 0:
        end = 1440
    if not (0 <= start < 1440 and 0 < end <= 1440) or m1 > 59 or m2 > 59 or start == end:
        raise Invalid(Reason.INVALID_VALUE, f"working hours: {text}")
    return start, end


def format_working_hours(start: int, end: int) -> str:
    """The member's hours as ``parse_working_hours`` reads them back ("22:00-06:00")."""
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(Reason.INVALID_VALUE, f"time zone: {name}") from None
    return name
