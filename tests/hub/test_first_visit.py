"""A web member's first visit: the rules come first, the default rules too (they count as
rules: the welcome mail asks email-only members to accept them from the start), then the guide,
whose button goes on to where the member was going."""

from __future__ import annotations

from flask import Flask

from hub import db
from hub.services import accounts
from tests.factories import make_channel, make_user, signed_in


def test_a_first_visit_shows_the_default_rules_then_the_guide_then_where_it_was_going(
    app: Flask,
) -> None:
    with db.transaction(app) as s:
        make_channel(s, slug="sales", name="営業")
        make_user(s, email="new@corp.example", name="新人", rules_accepted=False)
    new = signed_in(app, "new@corp.example")
    # No admin has written rules: the default ones are asked for all the same.
    r = new.get("/c/sales")
    assert r.status_code == 303 and r.location == "/rules?next=/c/sales"
    page = new.get(r.location).text
    assert "広場のルール" in page and 'id="accept-rules"' in page
    assert 'name="next" value="/c/sales"' in page
    r = new.post("/rules/accept", data={"version": "1", "next": "/c/sales"})
    assert r.status_code == 303 and r.location == "/guide?next=/c/sales"
    guide = new.get(r.location).text
    assert 'href="/c/sales" id="guide-start"' in guide
    assert new.get("/c/sales").status_code == 200
    with db.transaction(app) as s:
        user = accounts.find_user_by_email(s, "new@corp.example")
        assert user.rules_version == 1 and user.rules_accepted_at is not None

    # Without a way back (or one off the site) the guide's button goes to the channels.
    assert 'href="/" id="guide-start"' in new.get("/guide").text
    assert 'href="/" id="guide-start"' in new.get("/guide?next=//evil.example/").text
