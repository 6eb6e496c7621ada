"""Inline images are kept in place: 山本 mails the site channel 「現場の写真です。」, a photo, then
「右側の棚が問題の箇所です。」, and the post shows the photo between the two lines, as his mail
does. The shapes clients send (the iPhone's text, photo, text parts; Apple Mail's HTML with
<img src="cid:..."> beside a text part; Outlook's HTML alone), over the real SMTP intake; the
thread page over HTTP (the photo once, access checked); the mail about the post and the digest
through a real SMTP sink (the photo as a link where it stood, no Markdown shown). SQLite and
PostgreSQL."""

from __future__ import annotations

import base64
import re
import smtplib
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db
from hub.models import Post, Via
from hub.services import channels
from mailbridge import jobs
from tests.factories import make_channel, make_thread, make_user, signed_in
from tests.fixtures_mailout import deliver, to

YAMAMOTO = "yamamoto@corp.example"
SATO = "sato@corp.example"
SUZUKI = "suzuki@corp.example"
TANAKA = "tanaka@corp.example"
PHOTO = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40
CID = "5C1A2B3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D"
ABOVE, BELOW = "現場の写真です。", "右側の棚が問題の箇所です。"
SUBJECT = "倉庫の棚について"


@pytest.fixture
def site(app: Flask, smtp_sink: Any, intake: Any) -> dict[str, Any]:
    """A private channel 現場: 山本 (mail only), 佐藤 (every post by mail) and 鈴木 (a daily
    digest) in it; 田中 is a member of the hub but not of 現場."""
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        yamamoto = make_user(s, email=YAMAMOTO, name="山本 誠", email_only=True)
        sato = make_user(s, email=SATO, name="佐藤")
        suzuki = make_user(s, email=SUZUKI, name="鈴木")
        make_user(s, email=TANAKA, name="田中")
        genba = make_channel(
            s, slug="genba", name="現場", private=True, reason="取引先の現場の写真を扱う"
        )
        for user in (yamamoto, sato, suzuki):
            channels.add_member(s, user=user, channel=genba, actor=None)
        make_thread(s, channel=genba, author=sato, title="棚の点検", body="点検します")
        sato.delivery = "every_post"
        suzuki.delivery, suzuki.timezone, suzuki.digest_hour = "daily", "UTC", 0
        suzuki.working_days = "mon,tue,wed,thu,fri,sat,sun"
    deliver(app)
    smtp_sink.messages.clear()
    return {}


def _b64(data: bytes) -> str:
    return base64.encodebytes(data).decode().replace("\n", "\r\n")


def _head(content_type: str) -> str:
    return (
        f"Content-Type: {content_type}\r\n"
        f"From: {Header('山本 誠', 'utf-8').encode()} <{YAMAMOTO}>\r\n"
        "Mime-Version: 1.0 (1.0)\r\n"
        "Date: Fri, 27 Nov 2026 10:05:00 +0900\r\n"
        f"Subject: {Header(SUBJECT, 'utf-8').encode()}\r\n"
        "Message-Id: <8E3F1B2A-6C4D-4E5F-A1B2-C3D4E5F6A7B8@corp.example>\r\n"
        "To: genba@hub.test\r\n"
        "X-Mailer: iPhone Mail (22A3354)\r\n\r\n"
    )


def _text_part(text: str) -> str:
    return (
        "Content-Type: text/plain;\r\n\tcharset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + _b64(text.replace("\n", "\r\n").encode())
    )


def _photo_part() -> str:
    return (
        "Content-Type: image/png;\r\n\tname=IMG_0123.png\r\n"
        "Content-Disposition: inline;\r\n\tfilename=IMG_0123.png\r\n"
        f"Content-Id: <{CID}>\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + _b64(PHOTO)
    )


def _multipart(boundary: str, *parts: str) -> str:
    return "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"


def iphone_parts() -> bytes:
    """The iPhone's Mail: multipart/mixed of a text part, the photo inline, a text part."""
    b = "Apple-Mail-8E3F1B2A-6C4D-4E5F-A1B2-C3D4E5F6A7B8"
    body = _multipart(
        b,
        _text_part(f"{ABOVE}\n"),
        _photo_part(),
        _text_part(f"\n{BELOW}\n\niPhoneから送信\n"),
    )
    return (_head(f"multipart/mixed; boundary={b}") + body).encode()


def apple_html() -> bytes:
    """Apple Mail with HTML: multipart/alternative of a text part that says nothing of the
    photo, and multipart/related of the HTML (<img src="cid:...">) and the photo."""
    outer, inner = "Apple-Mail=_E26F2E97-874D", "Apple-Mail=_43FB3540-8FC3"
    html = (
        '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8">'
        f'</head><body dir="auto"><div dir="ltr">{ABOVE}</div><div dir="ltr"><br></div>'
        f'<div dir="ltr"><img apple-inline="yes" id="06C04C58" src="cid:{CID}"></div>'
        f'<div dir="ltr"><br></div><div dir="ltr">{BELOW}</div><div dir="ltr"><br></div>'
        '<div dir="ltr">iPhoneから送信</div></body></html>'
    )
    html_part = (
        "Content-Type: text/html;\r\n\tcharset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + _b64(html.encode())
    )
    related = f'Content-Type: multipart/related;\r\n\ttype="text/html";\r\n\tboundary="{inner}"'
    body = _multipart(
        outer,
        _text_part(f"{ABOVE}\n\n\u00a0\n\n{BELOW}\n\niPhoneから送信\n"),
        f"{related}\r\n\r\n" + _multipart(inner, html_part, _photo_part()),
    )
    return (_head(f'multipart/alternative;\r\n\tboundary="{outer}"') + body).encode()


def outlook_html_only() -> bytes:
    """Outlook (ja) sending HTML alone, a screenshot pasted between two lines."""
    msg = EmailMessage()
    msg["From"] = f"山本 誠 <{YAMAMOTO}>"
    msg["To"], msg["Subject"] = "genba@hub.test", SUBJECT
    msg["Message-ID"] = "<TYCPR01MB0001@corp.example>"
    msg.set_content(
        f'<html><body><div class="WordSection1"><p class="MsoNormal">{ABOVE}</p>'
        f'<p class="MsoNormal"><img width="640" height="480" src="cid:{CID}" '
        'alt="IMG_0123.png"></p>'
        f'<p class="MsoNormal">{BELOW}</p></div></body></html>',
        subtype="html",
    )
    msg.add_related(PHOTO, maintype="image", subtype="png", cid=f"<{CID}>",
                    filename="IMG_0123.png", disposition="inline")  # fmt: skip
    return msg.as_bytes(policy=SMTP)


def gmail() -> bytes:
    """Gmail: multipart/related of the alternative (a text part marking the photo
    "[image: IMG_0123.png]", the HTML showing it by Content-ID) and the photo."""
    alternative = EmailMessage()
    alternative.set_content(f"{ABOVE}\n[image: IMG_0123.png]\n{BELOW}\n", cte="base64")
    alternative.add_alternative(
        f'<div dir="ltr"><div>{ABOVE}</div><div><img src="cid:ii_m3abc123" alt="IMG_0123.png" '
        f'width="562" height="422"><br></div><div>{BELOW}</div></div>',
        subtype="html",
        cte="base64",
    )
    photo = EmailMessage()
    photo.set_content(PHOTO, maintype="image", subtype="png", cid="<ii_m3abc123>",
                      filename="IMG_0123.png", disposition="inline")  # fmt: skip
    msg = EmailMessage()
    msg["From"] = f"山本 誠 <{YAMAMOTO}>"
    msg["To"], msg["Subject"] = "genba@hub.test", SUBJECT
    msg["Message-ID"] = "<CAGja0003+photo@mail.gmail.com>"
    msg.make_related()
    msg.attach(alternative)
    msg.attach(photo)
    return msg.as_bytes(policy=SMTP)


def outlook_with_text() -> bytes:
    """Outlook (ja) with its text part, which marks the pasted screenshot "[cid:...]"."""
    msg = EmailMessage()
    msg["From"] = f"山本 誠 <{YAMAMOTO}>"
    msg["To"], msg["Subject"] = "genba@hub.test", SUBJECT
    msg["Message-ID"] = "<TYCPR01MB0002@corp.example>"
    cid = "image001.png@01DB4A2C.3F5E7D10"
    msg.set_content(f"{ABOVE}\n\n[cid:{cid}]\n\n{BELOW}\n")
    msg.add_alternative(
        f'<html><body><div class="WordSection1"><p class="MsoNormal">{ABOVE}</p>'
        f'<p class="MsoNormal"><img width="640" height="480" id="Picture_x0020_1" '
        f'src="cid:{cid}"></p><p class="MsoNormal">{BELOW}</p></div></body></html>',
        subtype="html",
    )
    msg.get_payload()[1].add_related(
        PHOTO, maintype="image", subtype="png", cid=f"<{cid}>", filename="IMG_0123.png"
    )
    return msg.as_bytes(policy=SMTP)


SHAPES = [
    pytest.param(iphone_parts, id="iphone-text-photo-text"),
    pytest.param(apple_html, id="apple-html-related"),
    pytest.param(outlook_html_only, id="outlook-html-only"),
    pytest.param(gmail, id="gmail-image-mark"),
    pytest.param(outlook_with_text, id="outlook-cid-mark"),
]


def send(intake: Any, raw: bytes) -> None:
    with smtplib.SMTP(intake.hostname, intake.port, timeout=30) as s:
        assert s.sendmail(YAMAMOTO, ["genba@hub.test"], raw) == {}


def the_post(app: Flask) -> tuple[int, int, str, int]:
    """The post the mail made: (thread id, post id, body, the photo's attachment id)."""
    with db.transaction(app) as s:
        post = s.scalars(select(Post).order_by(Post.id.desc())).first()
        assert post is not None and post.via == Via.EMAIL and post.thread.title == SUBJECT
        (photo,) = post.attachments
        assert photo.filename == "IMG_0123.png"
        return post.thread_id, post.id, post.body, photo.id


def _order(text: str, *pieces: str) -> list[int]:
    return [text.index(piece) for piece in pieces]


@pytest.mark.parametrize("mail", SHAPES)
def test_the_photo_is_posted_between_the_lines(app, smtp_sink, intake, site, mail):
    send(intake, mail())
    thread_id, post_id, body, photo_id = the_post(app)
    # On a line of its own between the two (the blank lines each client writes kept).
    photo = f"![IMG_0123.png](/attachments/{photo_id}/IMG_0123.png)"
    assert [line for line in body.split("\n") if line.strip()] == [ABOVE, photo, BELOW]

    # The page shows the photo between the lines, and not again in the list of files.
    sato = signed_in(app, SATO)
    page = sato.get(f"/t/{thread_id}").text
    post = page.split(f'id="post-{post_id}"', 1)[1].split("</article>", 1)[0]
    shown = f'<img src="/attachments/{photo_id}/IMG_0123.png" alt="IMG_0123.png">'
    above, img, below = _order(post, ABOVE, shown, BELOW)
    assert above < img < below
    assert post.count(f"/attachments/{photo_id}/") == 1
    assert 'class="attachments"' not in post
    with sato.get(f"/attachments/{photo_id}/IMG_0123.png") as got:
        assert (got.status_code, got.data) == (200, PHOTO)

    # The mail about the post: the photo where it stood, as a link signed for 佐藤.
    deliver(app)
    (mail_to_sato,) = to(smtp_sink, SATO)
    text = mail_to_sato.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"IMG_0123\.png \((http://hub\.test/mail/file/\S+/IMG_0123\.png)\)", text)
    assert link is not None, text
    above, at, below = _order(text, ABOVE, link.group(0), BELOW)
    assert above < at < below
    assert "![" not in text and "/attachments/" not in text and "cid:" not in text
    html = mail_to_sato.get_body(preferencelist=("html",)).get_content()
    above, img, below = _order(html, ABOVE, f'<img src="{link.group(1)}"', BELOW)
    assert above < img < below
    # A mail client loads it without signing in: the link is signed for 佐藤 (and checked
    # against his access when used).
    with app.test_client().get(link.group(1).removeprefix("http://hub.test")) as got:
        assert (got.status_code, got.data) == (200, PHOTO)


def test_a_member_outside_the_private_channel_cannot_see_the_photo(app, smtp_sink, intake, site):
    send(intake, iphone_parts())
    thread_id, _, _, photo_id = the_post(app)
    tanaka = signed_in(app, TANAKA)
    with tanaka.get(f"/attachments/{photo_id}/IMG_0123.png") as got:
        assert got.status_code == 404
    assert tanaka.get(f"/t/{thread_id}").status_code == 404


def test_the_digest_excerpt_names_the_photo_in_place(app, session, smtp_sink, intake, site):
    send(intake, iphone_parts())
    # Others' digests may be due too (their hour is 09:00 Tokyo): Suzuki gets exactly one.
    assert jobs.send_digests(app) >= 1
    deliver(app)
    (digest,) = [m for m in to(smtp_sink, SUZUKI) if "digest" in str(m["Subject"]).lower()]
    text = digest.get_body(preferencelist=("plain",)).get_content()
    assert f"{ABOVE} 📎 IMG_0123.png {BELOW}" in text
    assert "![" not in text and "/attachments/" not in text


def test_a_photo_alone_is_the_posts_file(app, smtp_sink, intake, site):
    """No text beside it: the photo is the post's file, the body empty (as before)."""
    b = "Apple-Mail-1"
    send(intake, (_head(f"multipart/mixed; boundary={b}") + _multipart(b, _photo_part())).encode())
    _, post_id, body, photo_id = the_post(app)
    assert body == ""
    page = signed_in(app, SATO).get(f"/t/{the_post(app)[0]}").text
    post = page.split(f'id="post-{post_id}"', 1)[1].split("</article>", 1)[0]
    assert 'class="attachments"' in post and f"/attachments/{photo_id}/IMG_0123.png" in post
