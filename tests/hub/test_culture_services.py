"""Culture services without HTTP: acknowledgements, moderation, governance, thanks, rules."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub.errors import Forbidden, Invalid, NotFound
from hub.models import ChannelStatus, Event, ModerationAction, OutboxMessage, Setting, Via
from hub.services import (
    acknowledgements,
    announcements,
    channel_creation,
    channels,
    governance,
    moderation,
    rules,
)
from hub.services import thanks as thanks_service
from mailbridge import fanout
from mailbridge.culture_mail import is_question
from tests import fixtures_culture
from tests.factories import make_channel, make_thread, make_user

db = fixtures_culture.db


def kinds(db: Any) -> list[str]:
    return [e.kind for e in db.scalars(select(Event).order_by(Event.id))]


def test_acknowledge_is_idempotent_and_require_again_asks_again(db: Any) -> None:
    admin = make_user(db, admin=True)
    member = make_user(db)
    item = announcements.publish(db, author=admin, title="目的", body="本文", ack_required=True,
                                 urgent=True)  # fmt: skip
    first = acknowledgements.acknowledge(db, user=member, announcement=item, via=Via.WEB)
    again = acknowledgements.acknowledge(db, user=member, announcement=item, via=Via.EMAIL)
    assert first.id == again.id and again.via == Via.WEB
    assert acknowledgements.pending_for(db, member) == []
    announcements.edit(db, announcement=item, actor=admin, body="新しい本文", require_again=True)
    assert item.version == 2 and acknowledgements.pending_for(db, member) == [item]
    assert kinds(db).count("announcement_published") == 2
    with pytest.raises(Forbidden):
        announcements.publish(db, author=member, title="x", body="y", ack_required=False,
                              urgent=False)  # fmt: skip


def test_channel_audience_excludes_others(db: Any) -> None:
    admin = make_user(db, admin=True)
    inside, outside = make_user(db), make_user(db)
    sales = make_channel(db)
    channels.join(db, user=inside, channel=sales)
    item = announcements.publish(db, author=admin, title="t", body="b", ack_required=True,
                                 urgent=False, channel_ids=[sales.id])  # fmt: skip
    assert announcements.audience(db, item) == [inside]
    with pytest.raises(Forbidden):
        acknowledgements.acknowledge(db, user=outside, announcement=item, via=Via.WEB)


@pytest.mark.parametrize(
    ("text", "question"),
    [("了解しました。", False), ("確認しました、ありがとうございます。", False), ("OK", False),
     ("Thanks!", False), ("了解です。雑談はどこに書けばよいですか？", True),
     ("Is this for contractors too?", True),
     ("承知しました。来週の部会で全員に共有して、各自の登録状況を確認するようにします。", True)],
)  # fmt: skip
def test_short_acknowledgements_are_not_questions(text: str, question: bool) -> None:
    assert is_question(text) is question


def test_flags_hide_at_threshold_and_restore_keeps_audit(app: Flask, db: Any) -> None:
    admin, author = make_user(db, admin=True), make_user(db)
    flaggers = [make_user(db) for _ in range(3)]
    post = make_thread(db, channel=make_channel(db), author=author, body="ひどい投稿")
    moderation.flag(db, user=flaggers[0], post=post, reason="攻撃的", threshold=2)
    moderation.flag(db, user=flaggers[0], post=post, reason="again", threshold=2)
    assert not post.hidden
    moderation.flag(db, user=flaggers[1], post=post, reason="人を傷つける", via=Via.LINK,
                    threshold=2)  # fmt: skip
    assert post.hidden and kinds(db).count("post_hidden") == 1
    assert moderation.queue(db)[0].count == 2
    with pytest.raises(Forbidden):
        moderation.restore(db, actor=author, post=post)
    moderation.restore(db, actor=admin, post=post, note="問題なし")
    assert not post.hidden and moderation.queue(db) == []
    trail = db.scalars(select(ModerationAction).order_by(ModerationAction.id)).all()
    assert [(a.action, a.note) for a in trail] == [("auto_hide", ""), ("restore", "問題なし")]
    db.commit()
    fanout.fan_out(app)
    told = db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "post_hidden"))
    assert told is not None and told.to_addr == author.email


def test_private_request_policy_approve_decline(app: Flask, db: Any) -> None:
    admin, member = make_user(db, admin=True), make_user(db)
    governance.set_policy(db, actor=admin, policy="approval")
    ask = make_channel(db, private=True, reason="人事評価", creator=member)
    other = make_channel(db, private=True, reason="雑談", creator=member)
    assert ask.status == ChannelStatus.PENDING
    assert governance.pending_requests(db) == [ask, other]
    with pytest.raises(Forbidden):
        governance.approve(db, actor=member, channel=ask)
    governance.approve(db, actor=admin, channel=ask, note="年度末に見直し")
    governance.decline(db, actor=admin, channel=other, note="公開チャンネルで十分です")
    assert (ask.status, other.status) == (ChannelStatus.ACTIVE, ChannelStatus.DECLINED)
    with pytest.raises(Invalid):
        governance.approve(db, actor=admin, channel=other)
    governance.set_policy(db, actor=admin, policy="admins")
    assert channel_creation.private_policy(db) == "admins"
    with pytest.raises(Forbidden):
        make_channel(db, private=True, reason="x", creator=member)
    db.commit()
    fanout.fan_out(app)
    decisions = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "channel_decision"))
    assert sorted(r.subject for r in decisions) == sorted(
        [f"Your private channel was approved: {ask.name}",
         f"Your private channel was declined: {other.name}"])  # fmt: skip


def test_thanks_values_and_rules(db: Any) -> None:
    admin, a, b = make_user(db, admin=True), make_user(db, rules_accepted=False), make_user(db)
    value = thanks_service.save_value(db, actor=admin, tag="#Kaizen", name="改善")
    assert value.tag == "kaizen" and thanks_service.value_in_text(db, "よかった #KAIZEN") is value
    with pytest.raises(Invalid):
        thanks_service.send(db, sender=a, recipients=[a], message="自分に")
    card = thanks_service.send(db, sender=a, recipients=[b, b], message="助かりました")
    assert [r.user for r in card.recipients] == [b] and card.value is None
    thanks_service.set_value(db, user=a, thanks=card, value=value)
    assert thanks_service.counts_per_value(db) == [("改善", 1)]
    assert thanks_service.received_by(db, b) == [card]
    assert (
        rules.accept_rules(db, a, Via.WEB) is True and rules.accept_rules(db, a, Via.WEB) is False
    )
    rules.set_rules(db, actor=admin, markdown="# ルール")
    assert db.get(Setting, rules.KEY).value == "# ルール" and rules.get_rules(db) == "# ルール"


def test_an_announcement_is_seen_by_its_audience_and_admins_only(db: Any) -> None:
    admin, inside, outside = make_user(db, admin=True), make_user(db), make_user(db)
    sales = make_channel(db, slug="sales-team")
    channels.join(db, user=inside, channel=sales)
    item = announcements.publish(
        db,
        author=admin,
        title="営業部へ",
        body="本文",
        ack_required=True,
        urgent=False,
        channel_ids=[sales.id],
    )
    assert announcements.get_visible(db, item.id, viewer=inside) is item
    assert announcements.get_visible(db, item.id, viewer=admin) is item
    with pytest.raises(NotFound):
        announcements.get_visible(db, item.id, viewer=outside)
