"""An announcement's status page for admins (test client, both databases): acknowledgement
times in the viewer's time zone and language, as the list page shows publication times."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from hub.models import Via
from hub.services import acknowledgements, announcements, rules
from tests import fixtures_culture
from tests.factories import make_user, signed_in

db = fixtures_culture.db

ACKED_AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 10:30 in Tokyo, 20:30 the day before in NY


def ack_times(page: str) -> list[str]:
    """The When column of the acknowledged table."""
    table = page.split('id="acknowledged"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<time datetime=\"[^\"]+\"[^>]*>([^<]+)</time>", table)


def test_acknowledgement_times_are_in_the_viewers_zone(app: Flask, db: Any) -> None:
    tokyo = make_user(db, email="tokyo@corp.example", admin=True, locale="ja",
                      timezone="Asia/Tokyo")  # fmt: skip
    ny = make_user(db, email="ny@corp.example", admin=True, timezone="America/New_York")
    member = make_user(db, email="m@corp.example")
    for u in (tokyo, ny):
        rules.accept_rules(db, u, Via.WEB)  # past the first-visit rules page
    item = announcements.publish(db, author=None, title="Purpose", body="Read this",
                                 ack_required=True, urgent=False, now=ACKED_AT)  # fmt: skip
    acknowledgements.acknowledge(db, user=member, announcement=item, via=Via.EMAIL,
                              words="OK", now=ACKED_AT)  # fmt: skip
    db.commit()

    page = signed_in(app, "tokyo@corp.example").get(f"/admin/announcements/{item.id}").text
    assert ack_times(page) == ["2026/03/02 10:30"]
    # The list page's publication time is written the same way.
    listing = signed_in(app, "tokyo@corp.example").get("/admin/announcements").text
    assert "2026/03/02 10:30" in listing

    page = signed_in(app, "ny@corp.example").get(f"/admin/announcements/{item.id}").text
    (shown,) = ack_times(page)
    assert shown.startswith("3/1/26") and "8:30" in shown and "PM" in shown, shown
