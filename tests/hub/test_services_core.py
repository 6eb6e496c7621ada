"""The core services without HTTP: members, channels, threads."""

from __future__ import annotations

import pytest

from hub.errors import Forbidden, Invalid, NotFound, Reason
from hub.models import Event, Via
from hub.services import accounts, channels, threads, working_time
from tests.factories import make_channel, make_thread, make_user


def test_addresses_are_unique_whatever_their_case(session):
    make_user(session, email="Buchou@Corp.Example")
    with pytest.raises(Invalid) as err:
        make_user(session, email="buchou@corp.example")
    assert err.value.reason == Reason.DUPLICATE_EMAIL
    assert accounts.find_user_by_email(session, "BUCHOU@corp.example") is not None


def test_private_channel_needs_a_reason(session):
    with pytest.raises(Invalid) as err:
        make_channel(session, private=True)
    assert err.value.reason == Reason.REASON_REQUIRED
    chan = make_channel(session, private=True, reason="人事情報を扱うため")
    assert chan.private and chan.status == "active"


def test_channel_needs_a_purpose(session):
    with pytest.raises(Invalid) as err:
        make_channel(session, purpose="  ")
    assert err.value.reason == Reason.PURPOSE_REQUIRED


def test_private_channel_is_invisible_to_non_members(session):
    owner, outsider = make_user(session), make_user(session)
    chan = make_channel(session, private=True, reason="r")
    channels.add_member(session, user=owner, channel=chan, actor=None)
    post = make_thread(session, channel=chan, author=owner)
    with pytest.raises(NotFound):
        threads.get_visible_thread(session, post.thread_id, viewer=outsider)
    with pytest.raises(Forbidden):
        threads.reply(session, author=outsider, thread=post.thread, body="hi", via=Via.EMAIL)
    assert threads.get_visible_thread(session, post.thread_id, viewer=owner) is post.thread


def test_reply_writes_an_event_in_the_same_transaction(session):
    a, b = make_user(session), make_user(session)
    chan = make_channel(session)
    first = make_thread(session, channel=chan, author=a)
    post = threads.reply(session, author=b, thread=first.thread, body="了解です", via=Via.EMAIL)
    kinds = [e.kind for e in session.query(Event).order_by(Event.id)]
    assert "thread_created" in kinds and kinds[-1] == "post_created"
    assert post.via == Via.EMAIL and post.thread.last_post_at == post.created_at


def test_mentions_resolve_to_members_who_can_read(session):
    a = make_user(session, email="taro@corp.example")
    b = make_user(session, email="hanako@corp.example")
    chan = make_channel(session)
    post = make_thread(session, channel=chan, author=a, body="@hanako 確認お願いします")
    from hub.models import Mention

    assert [m.user_id for m in session.query(Mention).filter_by(post_id=post.id)] == [b.id]


def test_deactivated_member_cannot_post(session):
    a = make_user(session)
    chan = make_channel(session)
    post = make_thread(session, channel=chan, author=a)
    accounts.deactivate(session, a)
    with pytest.raises(Forbidden):
        threads.reply(session, author=a, thread=post.thread, body="still here?", via=Via.WEB)


def test_edit_keeps_history_and_delete_is_soft(session):
    a = make_user(session)
    post = make_thread(session, channel=make_channel(session), author=a, body="v1")
    threads.edit_post(session, editor=a, post=post, body="v2")
    threads.delete_post(session, actor=a, post=post)
    assert post.body == "v2" and post.deleted_at is not None
    assert [r.body for r in post.revisions] == ["v1", "v2"]


def test_working_days_and_hours_parse():
    assert working_time.parse_working_days("月-金") == "mon,tue,wed,thu,fri"
    # A night shift runs into the next morning; equal start and end mean nothing.
    assert working_time.parse_working_hours("18:00-09:00") == (1080, 540)
    with pytest.raises(Invalid):
        working_time.parse_working_hours("09:00-09:00")


def test_join_and_leave_open_channel(session):
    u = make_user(session)
    chan = make_channel(session)
    channels.join(session, user=u, channel=chan)
    assert [m.id for m in channels.members_of(session, chan)] == [u.id]
    channels.leave(session, user=u, channel=chan)
    session.flush()
    assert channels.members_of(session, chan) == []


def test_private_channel_request_waits_for_approval(session):
    member = make_user(session)
    chan = make_channel(session, private=True, reason="評価面談の調整", creator=member)
    assert chan.status == "pending"
    with pytest.raises(Forbidden):
        make_thread(session, channel=chan, author=member)
