"""Two channels of one name leave people guessing where to post: a new channel, or a renamed
one, may not take a name another channel the member can see already has (width and case
aside). A private channel the member cannot see does not count: refusing would tell them it
exists."""

from __future__ import annotations

import pytest
from flask import Flask

from hub import db
from hub.errors import Invalid, Reason
from hub.models import Via
from hub.services import accounts, channel_settings, channels
from tests.factories import make_channel, make_user, signed_in


@pytest.fixture
def team(app: Flask) -> None:
    with db.transaction(app) as s:
        alice = make_user(s, email="alice@corp.example", name="Alice")
        make_user(s, email="bob@corp.example", name="Bob")
        make_channel(s, slug="sales", name="営業", creator=alice)
        make_channel(s, slug="hr", name="Jinji", private=True, reason="personal data",
                     creator=alice, policy="anyone")  # fmt: skip


@pytest.mark.parametrize("name", ["営業", " 営業 ", "Jinji"])
def test_a_name_taken_by_a_channel_the_creator_sees_is_refused(app, team, name):
    with db.transaction(app) as s:
        alice = accounts.find_user_by_email(s, "alice@corp.example")
        with pytest.raises(Invalid) as refused:
            make_channel(s, slug="sales2", name=name, creator=alice)
        assert refused.value.reason == Reason.DUPLICATE_NAME


def test_width_and_case_do_not_make_a_new_name(app, team):
    with db.transaction(app) as s:
        make_channel(s, slug="dev", name="Dev Team")
        for name in ("dev team", "ＤＥＶ　ＴＥＡＭ"):
            with pytest.raises(Invalid):
                make_channel(s, slug="dev2", name=name)


def test_a_private_channel_one_cannot_see_does_not_count(app, team):
    with db.transaction(app) as s:
        bob = accounts.find_user_by_email(s, "bob@corp.example")
        made = make_channel(s, slug="jinji2", name="Jinji", creator=bob)
        assert made.name == "Jinji"


def test_renaming_to_another_channels_name_is_refused_but_a_case_change_is_not(app, team):
    with db.transaction(app) as s:
        alice = accounts.find_user_by_email(s, "alice@corp.example")
        hr = channels.get_channel(s, "hr")
        with pytest.raises(Invalid) as refused:
            channel_settings.update_channel(s, channel=hr, actor=alice, via=Via.WEB, name="営業")
        assert refused.value.reason == Reason.DUPLICATE_NAME
        assert channel_settings.update_channel(
            s, channel=hr, actor=alice, via=Via.WEB, name="JINJI"
        ) == ["name"]


def test_the_form_says_why_and_keeps_what_was_typed(app, team):
    alice = signed_in(app, "alice@corp.example")
    r = alice.post(
        "/channels/new",
        data={"slug": "eigyo", "name": "営業", "purpose": "見積と案件", "kind": "work"},
    )
    assert r.status_code == 422
    assert "A channel with that name already exists" in r.text
    assert "見積と案件" in r.text and 'value="eigyo"' in r.text
