"""Attachment links in mail: signed per member, still valid after a key rotation, access checked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from itsdangerous import BadSignature, URLSafeSerializer

from hub.models import Delivery, Via
from hub.services import accounts, attachments, channels, threads
from mailbridge import post_mail
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import deliver, text_of, to

CSV = b"item,yen\npaper,1200\n"


def _path(url: str, app: Any) -> str:
    return url.removeprefix(app.config["BASE_URL"])


def _post_with_file(session: Any, author: Any, channel: Any) -> int:
    att = attachments.store(session, uploader=author, filename="見積.csv",
                            content_type="text/csv", data=CSV)  # fmt: skip
    first = make_thread(session, channel=channel, author=author, title="見積", body="どうぞ")
    threads.reply(session, author=author, thread=first.thread, body="表です", via=Via.WEB,
                  attachments=[att])  # fmt: skip
    return att.id


def _get(client: Any, path: str) -> tuple[int, bytes]:
    """Fetch a link and close the response (a file response holds the file open)."""
    with client.get(path) as got:
        return got.status_code, got.data


def _forged(user_id: int, attachment_id: int, key: str) -> str:
    tok = URLSafeSerializer(key, salt="hiroba-attachment").dumps([user_id, attachment_id])
    return f"/mail/file/{tok}/x.csv"


@pytest.fixture
def mailed(app: Any, session: Any, smtp_sink: Any) -> dict[str, Any]:
    """A reader who takes every post got a mail linking to an attachment (old key)."""
    app.config["RELAY_URL"] = smtp_sink.url
    author = make_user(session, email="author@corp.example")
    reader = make_user(session, email="reader@corp.example")
    accounts.update_preferences(session, reader, delivery=Delivery.EVERY_POST)
    chan = make_channel(session, slug="keiri")
    for u in (author, reader):
        channels.join(session, user=u, channel=chan)
    att_id = _post_with_file(session, author, chan)
    session.commit()
    deliver(app)
    (mail,) = [m for m in to(smtp_sink, "reader@corp.example") if "表です" in text_of(m)]
    url = re.search(r"http://hub\.test/mail/file/\S+", text_of(mail)).group(0)
    return {"url": _path(url, app), "reader": reader, "author": author, "att_id": att_id}


def test_link_from_an_older_mail_downloads_after_the_key_is_rotated(app, client, mailed):
    old = app.config["SECRET_KEY"]
    assert _get(client, mailed["url"]) == (200, CSV)
    app.config.update(SECRET_KEY="the-new-key", OLD_SECRET_KEYS=f"an-older-key, {old}")
    assert _get(client, mailed["url"]) == (200, CSV)
    # New links are signed with the new key: the old one alone does not verify them.
    fresh = post_mail.attachment_url(app, mailed["reader"].id, mailed["att_id"], "見積.csv")
    tok = _path(fresh, app).split("/")[3]
    with pytest.raises(BadSignature):
        URLSafeSerializer(old, salt="hiroba-attachment").loads(tok)
    assert _get(client, _path(fresh, app)) == (200, CSV)


def test_link_signed_with_an_unknown_key_is_refused(app, client, mailed):
    app.config.update(SECRET_KEY="the-new-key", OLD_SECRET_KEYS=app.config["SECRET_KEY"])
    forged = _forged(mailed["reader"].id, mailed["att_id"], "someone-elses-key")
    assert _get(client, forged)[0] == 404
    # Signed with a retired key that is no longer listed: refused too.
    app.config.update(OLD_SECRET_KEYS="")
    assert _get(client, mailed["url"])[0] == 404


def test_private_channel_attachment_is_refused_to_a_non_member(app, client, session, mailed):
    old = app.config["SECRET_KEY"]
    insider, outsider = mailed["author"], mailed["reader"]
    secret = make_channel(session, slug="jinji", private=True, reason="人事")
    channels.add_member(session, user=insider, channel=secret, actor=None)
    att_id = _post_with_file(session, insider, secret)
    session.commit()
    app.config.update(SECRET_KEY="the-new-key", OLD_SECRET_KEYS=old)
    assert _get(client, _forged(insider.id, att_id, old)) == (200, CSV)
    # A properly signed link (old key or new) names the outsider: not found for him.
    assert _get(client, _forged(outsider.id, att_id, old))[0] == 404
    link = post_mail.attachment_url(app, outsider.id, att_id, "見積.csv")
    assert _get(client, _path(link, app))[0] == 404
