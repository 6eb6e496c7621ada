"""The SMTP intake over real TCP: refusals at RCPT, SIZE, 452, 451 on outage, then one post."""

from __future__ import annotations

import smtplib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from hub import create_app, db
from hub.models import InboundMessage, Post, Thread, Via
from hub.services import threads
from mailbridge import smtp
from tests.conftest import free_port, test_settings
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import deliver, text_of, to
from tests.mailbridge.test_ingest import mail, reply_address


def start(app: Flask) -> Any:
    controller = smtp.make_controller(app, "127.0.0.1", free_port())
    controller.start()
    return controller


@pytest.fixture
def world(app: Flask, session: Any) -> dict[str, Any]:
    boss = make_user(session, email="buchou@corp.example", name="部長", email_only=True)
    peer = make_user(session, email="hanako@corp.example", name="花子")
    general = make_channel(session, slug="general", name="全社")
    first = make_thread(session, channel=general, author=peer, title="予算", body="案です")
    session.commit()
    return {"boss": boss, "peer": peer, "thread_id": first.thread_id}


def client(controller: Any) -> smtplib.SMTP:
    s = smtplib.SMTP(controller.hostname, controller.port, timeout=30)
    s.ehlo("client.corp.example")
    return s


def test_reply_over_smtp_is_posted(app: Flask, session: Any, world: Any, intake: Any) -> None:
    to = reply_address(app, world["boss"], world["thread_id"])
    with client(intake) as s:
        assert s.sendmail("buchou@corp.example", [to], mail(frm="buchou@corp.example", to=to)) == {}
    post = session.scalar(select(Post).order_by(Post.id.desc()))
    assert post.body == "承知しました。" and post.author.email == "buchou@corp.example"


def test_same_mail_in_four_sessions_at_once_is_posted_once(
    app: Flask, session: Any, world: Any, intake: Any
) -> None:
    """A sending server that retries while its first session is still open (or SMTP and IMAP
    both): every copy hears 250, the reply is posted and stored once."""
    to = reply_address(app, world["boss"], world["thread_id"])
    raw = mail(frm="buchou@corp.example", to=to, body="同時に届いた返信", msgid="same-moment")
    ready = threading.Barrier(4)

    def send() -> tuple[int, bytes]:
        with client(intake) as s:
            s.mail("buchou@corp.example")
            s.rcpt(to)
            ready.wait(timeout=30)
            return s.data(raw)

    with ThreadPoolExecutor(4) as pool:
        answers = [f.result() for f in [pool.submit(send) for _ in range(4)]]
    assert [code for code, _ in answers] == [250] * 4
    bodies = session.scalars(
        select(Post.body).where(Post.message_id == "same-moment@client.example")
    )
    assert list(bodies) == ["同時に届いた返信"]
    assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_strangers_and_forged_tokens_refused_at_rcpt(world: Any, intake: Any) -> None:
    with client(intake) as s:
        s.mail("x@evil.example")
        assert s.rcpt("nobody@hub.test")[0] == 550
        assert s.rcpt("someone@elsewhere.example")[0] == 550
        code, text = s.rcpt("reply+forgedtoken0000000000@hub.test")
        assert code == 550 and b"5.1.1" in text
        assert s.rcpt("general@hub.test")[0] == 250
        assert s.rcpt("help@hub.test")[0] == 250


def test_token_of_missing_member_refused(app: Flask, world: Any, intake: Any) -> None:
    from hub import tokens
    from mailbridge import addresses

    ghost = addresses.encode("reply", 999, world["thread_id"], "hub.test", ["test-secret-key"])
    assert tokens.read(ghost.split("+")[1].split("@")[0], ["test-secret-key"]) is not None
    with client(intake) as s:
        s.mail("buchou@corp.example")
        assert s.rcpt(ghost)[0] == 550


def test_stranger_from_header_refused_at_data(session: Any, world: Any, intake: Any) -> None:
    raw = mail(frm="x@evil.example", to="general@hub.test", subject="spam")
    with client(intake) as s, pytest.raises(smtplib.SMTPDataError) as err:
        s.sendmail("x@evil.example", ["general@hub.test"], raw)
    assert err.value.smtp_code == 550
    assert session.scalar(select(InboundMessage.status)) == "rejected"


def test_size_is_advertised_and_enforced(app: Flask, world: Any) -> None:
    app.config["SMTP_MAX_SIZE"] = 2000
    controller = start(app)
    try:
        with client(controller) as s:
            assert s.has_extn("size") and s.esmtp_features["size"] == "2000"
            raw = mail(frm="hanako@corp.example", to="general@hub.test", body="x" * 5000)
            with pytest.raises(smtplib.SMTPSenderRefused) as err:
                s.sendmail("hanako@corp.example", ["general@hub.test"], raw)
            assert err.value.smtp_code == 552
    finally:
        controller.stop()


def test_too_many_recipients(app: Flask, world: Any) -> None:
    app.config["SMTP_MAX_RECIPIENTS"] = 2
    controller = start(app)
    try:
        with client(controller) as s:
            s.mail("hanako@corp.example")
            assert s.rcpt("general@hub.test")[0] == 250
            assert s.rcpt("help@hub.test")[0] == 250
            assert s.rcpt("general@hub.test")[0] == 452
    finally:
        controller.stop()


def test_database_outage_answers_451_then_retry_posts_once(tmp_path: Path) -> None:
    """The database file vanishes mid-run: 451 at RCPT and DATA; the retry is posted once."""
    dbfile = tmp_path / "live.db"
    url = f"sqlite:///{dbfile}"
    from hub import search
    from hub.db import Base

    engine = db.make_engine(url)
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
        search.install(conn)
    engine.dispose()
    app = create_app(test_settings(url, tmp_path))
    maker = app.extensions["hiroba.sessionmaker"]
    with maker.begin() as session:
        boss = make_user(session, email="buchou@corp.example", name="部長")
        general = make_channel(session, slug="general", name="全社")
        thread_id = make_thread(session, channel=general, author=boss).thread_id
        to = reply_address(app, boss, thread_id)
    raw = mail(frm="buchou@corp.example", to=to, msgid="retry-me")
    controller = start(app)
    try:
        hidden = tmp_path / "hidden"
        hidden.mkdir()
        db.engine_of(app).dispose()
        for f in tmp_path.glob("live.db*"):
            f.rename(hidden / f.name)
        # A directory where the file was: SQLite cannot open it ("unable to open database").
        dbfile.mkdir()
        with client(controller) as s:
            s.mail("buchou@corp.example")
            code, text = s.rcpt(to)
            assert (code, text[:5]) == (451, b"4.3.0")
            s.rset()
            s.mail("buchou@corp.example")
            assert s.rcpt("help@hub.test")[0] == 250  # needs no database
            code, text = s.data(raw)
            assert (code, text[:5]) == (451, b"4.3.0")
        dbfile.rmdir()
        for f in hidden.iterdir():
            f.rename(tmp_path / f.name)
        db.engine_of(app).dispose()
        with client(controller) as s:
            assert s.sendmail("buchou@corp.example", [to], raw) == {}
            assert s.sendmail("buchou@corp.example", [to], raw) == {}  # a second retry
    finally:
        controller.stop()
    with maker() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 2
        assert session.scalar(select(InboundMessage.status)) == "replied"
    db.engine_of(app).dispose()


def test_postgres_outage_answers_451(app: Flask, world: Any) -> None:
    """The engine pointed at a dead PostgreSQL port (no server needed): 451, never 500."""
    dead = create_app(
        {**app.config, "DATABASE_URL": f"postgresql+psycopg://x@127.0.0.1:{free_port()}/x"}
    )
    controller = start(dead)
    try:
        to = reply_address(app, world["boss"], world["thread_id"])
        with client(controller) as s:
            s.mail("buchou@corp.example")
            assert s.rcpt(to)[0] == 451
    finally:
        controller.stop()
        db.engine_of(dead).dispose()


def test_reply_whose_token_was_lost_is_threaded_or_explained(
    app: Flask, session: Any, world: Any, intake: Any, smtp_sink: Any
) -> None:
    """A client or gateway that strips the +token sends to reply@ (or to our From, hiroba@): the
    intake takes it and threads it by the notification it answers; with nothing to thread by,
    the member is told why with their text, and a stranger is refused in protocol."""
    app.config["RELAY_URL"] = smtp_sink.url
    token_address = reply_address(app, world["boss"], world["thread_id"])
    with client(intake) as s:
        s.sendmail("buchou@corp.example", [token_address],
                   mail(frm="buchou@corp.example", to=token_address))  # fmt: skip
    thread = session.get(Thread, world["thread_id"])
    threads.reply(session, author=world["peer"], thread=thread, body="修正版です", via=Via.WEB)
    session.commit()
    deliver(app)
    (note,) = [m for m in to(smtp_sink, "buchou@corp.example") if "修正版" in text_of(m)]
    assert str(note["Reply-To"]).startswith("reply+")
    answers = {"In-Reply-To": note["Message-ID"], "References": note["Message-ID"]}
    for n, address in enumerate(("reply@hub.test", "hiroba@hub.test")):
        raw = mail(
            frm="部長 <buchou@corp.example>", to=address, body=f"了解です{n}", headers=answers
        )
        with client(intake) as s:
            assert s.sendmail("buchou@corp.example", [address], raw) == {}
    bodies = session.scalars(select(Post.body).where(Post.thread_id == world["thread_id"])).all()
    assert bodies[-2:] == ["了解です0", "了解です1"]
    session.rollback()
    # Nothing to thread by: 250, and one mail says why, quoting the text.
    with client(intake) as s:
        raw = mail(frm="buchou@corp.example", to="reply@hub.test", body="どこに行く？")
        assert s.sendmail("buchou@corp.example", ["reply@hub.test"], raw) == {}
    deliver(app)
    told = [m for m in to(smtp_sink, "buchou@corp.example") if "> どこに行く？" in text_of(m)]
    assert len(told) == 1
    with client(intake) as s:
        raw = mail(frm="x@evil.example", to="reply@hub.test", body="spam")
        with pytest.raises(smtplib.SMTPDataError) as refused:
            s.sendmail("x@evil.example", ["reply@hub.test"], raw)
        assert refused.value.smtp_code == 550


def test_answering_a_refusal_with_the_fixed_mail_posts_it(
    app: Flask, session: Any, world: Any, intake: Any, smtp_sink: Any
) -> None:
    """A manager whose attachment was refused answers the explanation without it (the way
    anyone answers a mail): the answer goes to the thread the first mail was for."""
    from email.message import EmailMessage

    app.config["RELAY_URL"] = smtp_sink.url
    address = reply_address(app, world["boss"], world["thread_id"])
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "部長 <buchou@corp.example>", address, "Re: 予算"
    msg["Message-ID"] = "<with-exe@corp.example>"
    msg.set_content("資料を添付します。")
    msg.add_attachment(b"MZ\x90\x00", maintype="application", subtype="x-msdownload",
                       filename="setup.exe")  # fmt: skip
    with client(intake) as s:
        assert s.sendmail("buchou@corp.example", [address], msg.as_bytes()) == {}
    deliver(app)
    (told,) = [m for m in to(smtp_sink, "buchou@corp.example") if "> 資料を添付" in text_of(m)]
    answer_to = str(told["Reply-To"])
    quoted = "\n".join(f"> {line}" for line in text_of(told).splitlines())
    raw = mail(
        frm="部長 <buchou@corp.example>",
        to=answer_to,
        subject=f"Re: {told['Subject']}",
        body=f"資料はリンクで共有します。\n\n{quoted}",
        headers={"In-Reply-To": told["Message-ID"]},
    )
    with client(intake) as s:
        assert s.sendmail("buchou@corp.example", [answer_to], raw) == {}
    bodies = session.scalars(select(Post.body).where(Post.thread_id == world["thread_id"])).all()
    assert bodies[-1] == "資料はリンクで共有します。"
