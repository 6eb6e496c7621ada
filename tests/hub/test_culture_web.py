"""Culture pages through the test client: banner, rules gate, thanks, flags, admin pages."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from sqlalchemy import select

from hub import tokens
from hub.models import Acknowledgement, Flag, Thanks, User
from hub.services import announcements, rules
from hub.services import thanks as thanks_service
from tests import fixtures_culture
from tests.factories import make_channel, make_thread, make_user

db = fixtures_culture.db


def setup_world(db: Any) -> dict[str, Any]:
    admin = make_user(db, email="admin@corp.example", name="管理者", admin=True)
    member = make_user(db, email="member@corp.example", name="佐藤")
    channel = make_channel(db, slug="general", name="全体")
    item = announcements.publish(db, author=admin, title="社内SNSの目的", body="**オープン**に",
                                 ack_required=True, urgent=False)  # fmt: skip
    db.commit()
    return {"admin": admin, "member": member, "channel": channel, "item": item}


def test_banner_on_every_page_until_acknowledged(app: Flask, db: Any, client, auth) -> None:
    w = setup_world(db)
    auth.login("member@corp.example")
    for path in ("/", "/thanks", "/rules"):
        assert f'id="banner-{w["item"].id}"' in client.get(path).get_data(as_text=True)
    res = client.post(f"/announcements/{w['item'].id}/ack", headers={"HX-Request": "true"})
    assert res.status_code == 200 and "acknowledged" in res.get_data(as_text=True)
    assert "banner-" not in client.get("/").get_data(as_text=True)
    ack = db.scalar(select(Acknowledgement))
    assert ack is not None and ack.via == "web"
    item_id = w["item"].id
    db.rollback()  # also expires w's objects: touch none of them below
    auth.logout()
    auth.login("admin@corp.example")
    page = client.get(f"/admin/announcements/{item_id}").get_data(as_text=True)
    assert "member@corp.example" in page and '<td data-via="web">On the web</td>' in page


def test_member_cannot_open_admin_pages(app: Flask, db: Any, client, auth) -> None:
    setup_world(db)
    auth.login("member@corp.example")
    for path in (
        "/admin/announcements",
        "/admin/dashboard",
        "/admin/moderation",
        "/admin/governance",
        "/admin/channel-requests",
        "/admin/values",
    ):
        assert client.get(path).status_code == 403, path  # fmt: skip


def test_rules_gate_then_guide(app: Flask, db: Any, client, auth) -> None:
    w = setup_world(db)
    make_user(db, email="new@corp.example", name="新人", rules_accepted=False)
    rules.set_rules(db, actor=w["admin"], markdown="# 広場のルール\n\n- 人を傷つけない")
    db.commit()
    auth.login("new@corp.example")
    res = client.get("/")
    assert res.status_code == 303 and "/rules" in res.headers["Location"]
    assert "広場のルール" in client.get("/rules").get_data(as_text=True)
    res = client.post("/rules/accept")
    assert res.headers["Location"].endswith("/guide")
    # The address as read (the page lets it break after @ or before a dot: <wbr> between parts).
    guide = re.sub(r"<[^>]+>", "", client.get("/guide").get_data(as_text=True))
    assert "general@hub.test" in guide
    assert client.get("/").status_code == 200


def test_dashboard_svg_without_scripts_and_csv(app: Flask, db: Any, client, auth) -> None:
    setup_world(db)
    auth.login("admin@corp.example")
    page = client.get("/admin/dashboard").get_data(as_text=True)
    assert "weekly_active.svg" in page and "<script" not in page.split("<main")[1]
    for name in ("weekly_active", "openness", "ack_rates", "posts_per_channel", "thanks_per_value"):
        res = client.get(f"/admin/dashboard/{name}.svg")
        svg = res.get_data(as_text=True)
        assert res.mimetype == "image/svg+xml" and "<svg" in svg
        assert "<script src" not in svg and "kozea.github.io" not in svg
    csv_text = client.get("/admin/dashboard/ack_rates.csv").get_data(as_text=True)
    assert csv_text.lstrip("\ufeff").startswith("id,title,acknowledged,audience,rate")
    # One member asked (the admin who published it is not): 0 of 1.
    assert "社内SNSの目的,0,1,0.0" in csv_text


def test_thanks_on_the_web(app: Flask, db: Any, client, auth) -> None:
    w = setup_world(db)
    value = thanks_service.save_value(db, actor=None, tag="teamwork", name="チームワーク")
    other = make_user(db, email="other@corp.example", name="田中")
    db.commit()
    auth.login("member@corp.example")
    res = client.post(
        "/thanks",
        data={
            "recipients": [str(w["admin"].id), str(other.id)],
            "message": "ありがとう",
            "value_id": str(value.id),
        },
    )
    assert res.status_code == 303
    page = client.get("/thanks").get_data(as_text=True)
    assert "ありがとう" in page and "チームワーク: 1" in page
    assert "ありがとう" in client.get(f"/thanks/member/{other.id}").get_data(as_text=True)
    card = db.scalar(select(Thanks))
    assert sorted(r.user.email for r in card.recipients) == ["admin@corp.example",
                                                             "other@corp.example"]  # fmt: skip


def test_flag_link_get_records_nothing(app: Flask, db: Any, client) -> None:
    w = setup_world(db)
    post = make_thread(db, channel=w["channel"], author=w["admin"], body="問題の投稿")
    db.commit()
    link = "/f/" + tokens.make("flag", w["member"].id, post.id,
                               tokens.keys_from_config(app.config))  # fmt: skip
    assert "問題の投稿" in client.get(link).get_data(as_text=True)
    assert db.scalar(select(Flag)) is None
    db.rollback()
    assert client.post(link, data={"reason": "失礼です"}).status_code == 200
    flag = db.scalar(select(Flag))
    assert flag is not None and flag.via == "link" and flag.reason == "失礼です"


def test_channel_request_approved_from_queue(app: Flask, db: Any, client, auth) -> None:
    w = setup_world(db)
    ask = make_channel(db, slug="hr", name="人事", private=True, reason="評価",
                       creator=w["member"])  # fmt: skip
    db.commit()
    auth.login("admin@corp.example")
    assert "人事" in client.get("/admin/channel-requests").get_data(as_text=True)
    client.post(f"/admin/channel-requests/{ask.id}", data={"decision": "approve", "note": "OK"})
    db.expire_all()
    assert db.get(type(ask), ask.id).status == "active"
    assert db.get(User, w["member"].id) is not None
