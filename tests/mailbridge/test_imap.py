"""The IMAP poller against a real Dovecot: checkpoint, folders, failures, UIDVALIDITY, IDLE."""

from __future__ import annotations

import itertools
import smtplib
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from imapclient import IMAPClient
from sqlalchemy import func, select

from hub.models import InboundMessage, MailboxState, Post
from mailbridge import imap, smtp
from tests.conftest import free_port
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailin import dovecot  # noqa: F401
from tests.mailbridge.test_ingest import mail, reply_address

_n = itertools.count(1)


@pytest.fixture
def folder(app: Flask, dovecot: dict[str, Any]) -> Iterator[str]:  # noqa: F811
    """A fresh folder per test, with its own done/rejected folders, as the app's IMAP_URL."""
    name = f"In{next(_n)}"
    app.config.update(
        IMAP_URL=f"imap://{dovecot['user']}:{dovecot['password']}@127.0.0.1:{dovecot['port']}/{name}",
        IMAP_DONE_FOLDER=f"{name}/Done",
        IMAP_REJECTED_FOLDER=f"{name}/Rejected",
    )
    with connect(dovecot) as c:
        c.create_folder(name)
    yield name


def connect(dv: dict[str, Any]) -> IMAPClient:
    c = IMAPClient(dv["host"], port=dv["port"], ssl=False, timeout=10)
    c.login(dv["user"], dv["password"])
    return c


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def count(c: IMAPClient, name: str) -> int:
    return int(c.folder_status(name, [b"MESSAGES"])[b"MESSAGES"])


@pytest.fixture
def world(app: Flask, session: Any) -> dict[str, Any]:
    boss = make_user(session, email="buchou@corp.example", name="部長", email_only=True)
    peer = make_user(session, email="hanako@corp.example", name="花子")
    general = make_channel(session, slug="general", name="全社")
    first = make_thread(session, channel=general, author=peer, title="予算", body="案です")
    session.commit()
    return {"boss": boss, "to": reply_address(app, boss, first.thread_id)}


def test_poll_handles_oldest_first_and_moves_after_commit(
    app: Flask,
    session: Any,
    world: Any,
    folder: str,
    dovecot: dict[str, Any],  # noqa: F811
) -> None:
    to = world["to"]
    with connect(dovecot) as c:
        for n in range(3):
            raw = mail(frm="buchou@corp.example", to=to, body=f"返信{n}", msgid=f"imap-order{n}")
            c.append(folder, crlf(raw))
        c.append(folder, crlf(mail(frm="x@evil.example", to="general@hub.test", msgid="evil")))
        assert imap.poll_once(app, c, folder) == 4
        assert imap.poll_once(app, c, folder) == 0  # "N:*" matches the last UID: dropped
        assert count(c, folder) == 0
        assert count(c, f"{folder}.Done") == 3 and count(c, f"{folder}.Rejected") == 1
        # Read with BODY.PEEK[]: the moved mail is still unread for people.
        c.select_folder(f"{folder}.Done")
        assert len(c.search(["UNSEEN"])) == 3
    bodies = list(session.scalars(select(Post.body).where(Post.via == "email").order_by(Post.id)))
    assert bodies == ["返信0", "返信1", "返信2"]
    state = session.scalar(select(MailboxState))
    assert state.last_uid == 4 and state.uid_validity > 0


def test_failing_message_in_batch_does_not_stop_the_rest(
    app: Flask,
    session: Any,
    world: Any,
    folder: str,
    dovecot: dict[str, Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mailbridge import actions

    real = actions.HANDLERS["reply"]

    def flaky(ctx: Any) -> Any:
        if "壊れる" in (ctx.incoming.text or ""):
            raise RuntimeError("a bug in one message")
        return real(ctx)

    monkeypatch.setitem(actions.HANDLERS, "reply", flaky)
    with connect(dovecot) as c:
        for n, body in enumerate(["前", "壊れる", "後"]):
            c.append(folder, crlf(mail(frm="buchou@corp.example", to=world["to"], body=body,
                                       msgid=f"batch{n}")))  # fmt: skip
        assert imap.poll_once(app, c, folder) == 3
        assert count(c, f"{folder}.Rejected") == 1 and count(c, f"{folder}.Done") == 2
    statuses = list(session.scalars(select(InboundMessage.status).order_by(InboundMessage.id)))
    assert statuses == ["replied", "failed", "replied"]


def test_uidvalidity_change_rereads_without_double_posts(
    app: Flask,
    session: Any,
    world: Any,
    folder: str,
    dovecot: dict[str, Any],  # noqa: F811
) -> None:
    old = [mail(frm="buchou@corp.example", to=world["to"], body=f"旧{n}", msgid=f"uv{n}")
           for n in range(3)]  # fmt: skip
    with connect(dovecot) as c:
        for raw in old:
            c.append(folder, crlf(raw))
        assert imap.poll_once(app, c, folder) == 3
        # The folder is recreated (a restore, a migration): new UIDVALIDITY, UIDs from 1 again.
        c.select_folder("INBOX")
        c.delete_folder(folder)
        c.create_folder(folder)
        c.append(folder, crlf(old[0]))  # seen before: must not post again
        c.append(folder, crlf(mail(frm="buchou@corp.example", to=world["to"], body="新",
                                   msgid="uv-new")))  # fmt: skip
        assert imap.poll_once(app, c, folder) == 2
    session.expire_all()
    bodies = list(session.scalars(select(Post.body).where(Post.via == "email").order_by(Post.id)))
    assert bodies == ["旧0", "旧1", "旧2", "新"]
    assert session.scalar(select(MailboxState.last_uid)) == 2


def test_same_message_by_smtp_and_imap_posts_once(
    app: Flask,
    session: Any,
    world: Any,
    folder: str,
    dovecot: dict[str, Any],  # noqa: F811
) -> None:
    raw = mail(frm="buchou@corp.example", to=world["to"], body="二重配送", msgid="both-ways")
    controller = smtp.make_controller(app, "127.0.0.1", free_port())
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", controller.port, timeout=30) as s:
            s.sendmail("buchou@corp.example", [world["to"]], raw)
    finally:
        controller.stop()
    with connect(dovecot) as c:
        c.append(folder, crlf(raw))
        assert imap.poll_once(app, c, folder) == 1
        assert count(c, f"{folder}.Done") == 1
    n = session.scalar(select(func.count()).select_from(Post).where(Post.body == "二重配送"))
    assert n == 1


def test_first_sync_skips_old_mail(
    app: Flask,
    session: Any,
    world: Any,
    folder: str,
    dovecot: dict[str, Any],  # noqa: F811
) -> None:
    app.config["IMAP_FIRST_SYNC_DAYS"] = 3
    with connect(dovecot) as c:
        old = crlf(mail(frm="buchou@corp.example", to=world["to"], body="古い", msgid="old1"))
        c.append(folder, old, msg_time=datetime.now() - timedelta(days=10))
        c.append(folder, crlf(mail(frm="buchou@corp.example", to=world["to"], body="新しい",
                                   msgid="new1")))  # fmt: skip
        assert imap.poll_once(app, c, folder) == 1
        assert count(c, folder) == 1  # the old one stays where it was
        assert imap.poll_once(app, c, folder) == 0
    bodies = list(session.scalars(select(Post.body).where(Post.via == "email")))
    assert bodies == ["新しい"]


def test_run_poller_idles_and_stops(
    app: Flask,
    session: Any,
    world: Any,
    folder: str,
    dovecot: dict[str, Any],  # noqa: F811
) -> None:
    stop = threading.Event()
    t = threading.Thread(target=imap.run_poller, args=(app, stop), daemon=True)
    t.start()
    try:
        time.sleep(0.5)
        with connect(dovecot) as c:
            c.append(folder, crlf(mail(frm="buchou@corp.example", to=world["to"], body="IDLE",
                                       msgid="idle1")))  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with app.extensions["hiroba.sessionmaker"]() as s:
                if s.scalar(select(Post.id).where(Post.body == "IDLE")):
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the poller did not post the new mail within 15 s")
    finally:
        stop.set()
        t.join(timeout=40)
    assert not t.is_alive()


def test_parse_url() -> None:
    t = imap.parse_url("imaps://u%40x:p@mail.example:1993/Hiroba")
    assert (t.host, t.port, t.ssl, t.user, t.folder) == (
        "mail.example",
        1993,
        True,
        "u@x",
        "Hiroba",
    )
    with pytest.raises(ValueError):
        imap.parse_url("pop3://x")
