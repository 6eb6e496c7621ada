"""A hidden post, as its author and readers learn of it (test client for flags and the admin's
decision, a real SMTP sink for the mail; both databases).

The flag page promises the author is not told who flagged, so the "your post was hidden" mail
never quotes a flagger's words (they can say who wrote them): hidden by flags, it says so and how
many, waiting for an admin; hidden by an admin, it says that, with the admin's note if any. The
post's placeholder tells the two apart too, and an admin keeping a flagged post hidden is told to
the author and kept in the audit trail."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from flask import Flask
from sqlalchemy import select

from hub.models import ModerationAction, User, Via
from hub.services import attachments, rules
from tests import fixtures_culture
from tests.factories import make_channel, make_thread, make_user, signed_in
from tests.fixtures_mailout import deliver, text_of, to

db = fixtures_culture.db
AUTHOR = "author@corp.example"
# Words only their writer would use: quoted to the author, they say who flagged.
REASONS = (
    "私は経理の佐藤です。先週の会議で私が言ったことを揶揄しています",
    "Hanako here: this is about my team and I asked him to stop",
    "同じ課の者として見過ごせません",
)


def whole(msg: EmailMessage) -> str:
    """Every text part of a mail (plain and HTML)."""
    return "\n".join(
        part.get_content() for part in msg.walk() if part.get_content_maintype() == "text"
    )


def world(app: Flask, db: Any, smtp_sink: Any) -> dict[str, Any]:
    app.config.update(RELAY_URL=smtp_sink.url, FLAG_HIDE_THRESHOLD=3)
    admin = make_user(db, email="admin@corp.example", name="管理者", admin=True)
    author = make_user(db, email=AUTHOR, name="作者")
    flaggers = [make_user(db, email=f"f{n}@corp.example") for n in range(3)]
    channel = make_channel(db, slug="general")
    post = make_thread(db, channel=channel, author=author, title="週末", body="きつい冗談")
    for user in (admin, author, *flaggers):
        rules.accept_rules(db, user, Via.WEB)  # past the first-visit rules page
    db.commit()
    deliver(app)
    smtp_sink.messages.clear()
    return {"post": post.id, "thread": post.thread_id}


def placeholder(app: Flask, thread_id: int, post_id: int) -> str:
    page = signed_in(app, AUTHOR).get(f"/t/{thread_id}").text
    article = page.split(f'id="post-{post_id}"', 1)[1].split("</article>", 1)[0]
    assert "きつい冗談" not in article
    return article


def test_hidden_by_flags_then_kept_hidden_by_an_admin(app: Flask, db: Any, smtp_sink) -> None:
    w = world(app, db, smtp_sink)
    for n, reason in enumerate(REASONS):
        res = signed_in(app, f"f{n}@corp.example").post(
            f"/posts/{w['post']}/flag", data={"reason": reason}
        )
        assert res.status_code == 200
    deliver(app)
    (mail,) = to(smtp_sink, AUTHOR)
    text = whole(mail)
    assert "hidden automatically because 3 members flagged it." in text
    assert "An admin will review it" in text and "Who flagged it is not shared." in text
    for reason in REASONS:
        assert reason not in text
    assert "佐藤" not in text and "Hanako" not in text
    assert mail["Reply-To"] == "help@hub.test"
    article = placeholder(app, w["thread"], w["post"])
    assert 'data-hidden="flags"' in article and "an admin will review it" in article

    # The admin keeps it hidden, without a note: the author hears the decision, not "until".
    admin = signed_in(app, "admin@corp.example")
    res = admin.post(f"/admin/moderation/{w['post']}", data={"action": "hide", "note": ""})
    assert res.status_code == 303
    deliver(app)
    first, decision = to(smtp_sink, AUTHOR)
    text = whole(decision)
    assert 'An admin reviewed your post in "週末" and kept it hidden.' in text
    assert "To ask the admin why, reply to this mail." in text
    assert "review it" not in text and "until" not in text
    for reason in REASONS:
        assert reason not in text
    assert decision["Reply-To"].addresses[0].addr_spec == "admin@corp.example"
    article = placeholder(app, w["thread"], w["post"])
    assert 'data-hidden="admin"' in article and "An admin hid this post." in article
    assert "review" not in article
    trail = db.scalars(select(ModerationAction.action).order_by(ModerationAction.id)).all()
    assert trail == ["auto_hide", "hide"]
    db.commit()


def test_hidden_by_an_admin_tells_the_note_never_the_flag(app: Flask, db: Any, smtp_sink) -> None:
    w = world(app, db, smtp_sink)
    signed_in(app, "f0@corp.example").post(f"/posts/{w['post']}/flag", data={"reason": REASONS[0]})
    admin = signed_in(app, "admin@corp.example")
    note = "業務外の話題は雑談チャンネルへお願いします"
    res = admin.post(f"/admin/moderation/{w['post']}", data={"action": "hide", "note": note})
    assert res.status_code == 303
    deliver(app)
    (mail,) = to(smtp_sink, AUTHOR)
    text = whole(mail)
    assert 'An admin hid your post in "週末".' in text
    assert f"Note from the admin: {note}" in text
    assert REASONS[0] not in text and "佐藤" not in text
    assert "automatically" not in text and "review it" not in text
    assert "To ask the admin why" not in text  # the note says why
    article = placeholder(app, w["thread"], w["post"])
    assert 'data-hidden="admin"' in article
    # Hiding it again changes nothing and tells nobody twice.
    admin.post(f"/admin/moderation/{w['post']}", data={"action": "hide", "note": "again"})
    deliver(app)
    assert len(to(smtp_sink, AUTHOR)) == 1


MARKDOWN = "**至急**：[見積書](https://files.example/q.pdf) を直しました\n\n- 単価\n- 納期"


def test_the_authors_text_is_quoted_as_it_reads_not_as_markdown(
    app: Flask, db: Any, smtp_sink
) -> None:
    world(app, db, smtp_sink)
    author = db.scalar(select(User).where(User.email == AUTHOR))
    post = make_thread(db, channel=make_channel(db, slug="sales"), author=author, title="見積",
                       body=MARKDOWN)  # fmt: skip
    db.commit()
    deliver(app)
    res = signed_in(app, "admin@corp.example").post(
        f"/admin/moderation/{post.id}", data={"action": "hide", "note": ""}
    )
    assert res.status_code == 303
    deliver(app)
    (mail,) = to(smtp_sink, AUTHOR)
    plain = text_of(mail)
    # The text part quotes what the post shows, as the post mails do; the HTML part renders it.
    assert "> 至急：見積書 (https://files.example/q.pdf) を直しました\n" in plain
    assert "> - 単価\n> - 納期\n" in plain
    assert "**" not in plain and "](" not in plain
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "<strong>至急</strong>" in html and 'href="https://files.example/q.pdf"' in html
    assert "<li>単価</li>" in html and "**" not in html


def test_a_photo_in_the_hidden_post_is_a_link_that_works_in_the_mail(
    app: Flask, db: Any, smtp_sink
) -> None:
    """A photo mailed in place (inline) is a path on the hub in the post; in the author's mail
    it is their signed link, which a mail client can open."""
    world(app, db, smtp_sink)
    author = db.scalar(select(User).where(User.email == AUTHOR))
    photo = attachments.store(db, uploader=author, filename="IMG_0123.png",
                              content_type="image/png", data=b"\x89PNG fake",
                              limits=attachments.Limits.from_config(app.config))  # fmt: skip
    body = f"現場の写真です。\n\n{attachments.in_body(photo)}\n\n右側の棚です。"
    post = make_thread(db, channel=make_channel(db, slug="site"), author=author, title="現場",
                       body=body, attachments=[photo])  # fmt: skip
    db.commit()
    deliver(app)
    res = signed_in(app, "admin@corp.example").post(
        f"/admin/moderation/{post.id}", data={"action": "hide", "note": ""}
    )
    assert res.status_code == 303
    deliver(app)
    (mail,) = to(smtp_sink, AUTHOR)
    assert "IMG_0123.png (http://hub.test/mail/file/" in text_of(mail)
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert 'src="http://hub.test/mail/file/' in html and 'src="/attachments/' not in html
