"""Attachments without HTTP: limits, storage by content hash, who may read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import Invalid, NotFound, Reason
from hub.models import Via
from hub.services import attachments, channels, threads
from tests.factories import make_channel, make_thread, make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def limits(tmp_path: Path, max_bytes: int = 1000) -> attachments.Limits:
    return attachments.Limits(tmp_path / "att", max_bytes, frozenset({"image/png", "text/plain"}))


def test_store_writes_once_by_sha256(session, tmp_path):
    user = make_user(session)
    lim = limits(tmp_path)
    a = attachments.store(
        session, uploader=user, filename="../../図面.png", content_type="image/PNG; name=x",
        data=PNG, limits=lim,
    )  # fmt: skip
    b = attachments.store(
        session, uploader=user, filename="again.png", content_type="image/png", data=PNG,
        limits=lim,
    )  # fmt: skip
    assert a.sha256 == b.sha256 and a.filename == "図面.png" and a.content_type == "image/png"
    stored = attachments.path_for(tmp_path / "att", a.sha256)
    assert stored.read_bytes() == PNG
    assert len(list((tmp_path / "att").rglob("*"))) == 2  # one folder, one file


@pytest.mark.parametrize(
    ("data", "kind", "reason"),
    [
        (b"x" * 1001, "text/plain", Reason.TOO_LARGE),
        (b"<svg onload=alert(1)>", "image/svg+xml", Reason.UNSUPPORTED_TYPE),
        (b"<html>", "text/html", Reason.UNSUPPORTED_TYPE),
        (b"", "text/plain", Reason.INVALID_VALUE),
    ],
)
def test_store_refuses(session, tmp_path, data, kind, reason):
    user = make_user(session)
    with pytest.raises(Invalid) as err:
        attachments.store(session, uploader=user, filename="f", content_type=kind, data=data,
                          limits=limits(tmp_path))  # fmt: skip
    assert err.value.reason == reason


def test_only_readers_of_the_channel_get_it(session, tmp_path):
    owner, outsider = make_user(session), make_user(session)
    secret = make_channel(session, private=True, reason="人事情報")
    channels.add_member(session, user=owner, channel=secret, actor=None)
    att = attachments.store(session, uploader=owner, filename="a.txt", content_type="text/plain",
                            data=b"hello", limits=limits(tmp_path))  # fmt: skip
    # Not yet on a post: only its uploader sees it.
    assert attachments.get_readable(session, att.id, viewer=owner) is att
    with pytest.raises(NotFound):
        attachments.get_readable(session, att.id, viewer=outsider)
    post = make_thread(session, channel=secret, author=owner, attachments=[att])
    assert attachments.get_readable(session, att.id, viewer=owner) is att
    with pytest.raises(NotFound):
        attachments.get_readable(session, att.id, viewer=outsider)
    threads.delete_post(session, actor=owner, post=post)
    with pytest.raises(NotFound):
        attachments.get_readable(session, att.id, viewer=owner)


def test_open_channel_attachment_readable_by_everyone(session, tmp_path):
    author, reader = make_user(session), make_user(session)
    chan = make_channel(session)
    att = attachments.store(
        session, uploader=author, filename="memo.txt", content_type="text/plain", data=b"memo",
        limits=limits(tmp_path),
    )  # fmt: skip
    first = make_thread(session, channel=chan, author=author)
    threads.reply(session, author=author, thread=first.thread, body="see file", via=Via.WEB,
                  attachments=[att])  # fmt: skip
    assert attachments.get_readable(session, att.id, viewer=reader).filename == "memo.txt"
