"""A Japanese manager answers the digest from Outlook and Gmail, over the real SMTP intake: an
Outlook HTML-only reply with answers typed into the digest, the usual greeting above inline
answers, and the "which thread?" mail answered with a number and more text, or text alone."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from babel.lists import format_list
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import select

from hub.db import utcnow
from hub.models import InboundMessage, PendingReply, Post
from mailbridge import delivery, digests
from mailbridge.inbound_cli import log_entry
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import text_of, to

BOSS = "yamamoto@corp.example"
GREETING = "お疲れ様です。山本です。"
ANSWER_DUTY = "当番表、承認します。30日は私が出社します。"
ANSWER_LIST = "連絡網の件、了解です。"
ADDED = ("We kept what you wrote with your earlier text (nothing is lost), but we still cannot "
         "tell which thread it answers.")  # fmt: skip


@pytest.fixture
def sales(app: Any, session: Any, smtp_sink: Any) -> dict[str, Any]:
    """山本 (email only, Japanese) and three threads of 営業, one naming him (his "needs you")."""
    app.config["RELAY_URL"] = smtp_sink.url
    make_user(session, email=BOSS, name="山本 太郎", email_only=True, locale="ja")
    tanaka = make_user(session, email="tanaka@corp.example", name="田中 一郎")
    ch = make_channel(session, slug="sales", name="営業", purpose="営業部の連絡と相談")
    found = {
        key: make_thread(session, channel=ch, author=tanaka, title=title, body=body).thread
        for key, title, body in (
            ("sales", "12月度 売上速報", "@yamamoto 12月度の速報です。ご確認ください。"),
            ("duty", "年末年始の当番表", "当番表を作りました。"),
            ("list", "緊急連絡網の更新", "携帯番号を更新しました。"),
        )
    }
    session.commit()
    return {key: thread.id for key, thread in found.items()}


def _digest(app: Any, session: Any, sink: Any) -> EmailMessage:
    boss = session.scalar(select(digests.User).where(digests.User.email == BOSS))
    assert digests.build_and_queue_digest(app, session, boss, "daily:a", utcnow()) is not None
    session.commit()
    delivery.drain_outbox(app)
    return [m for m in to(sink, BOSS) if str(m["Reply-To"]).startswith("digest+")][-1]


def _send(port: int, answered: EmailMessage, body: str, *, html: bool = False) -> None:
    """Answer ``answered`` as 山本 (HTML only, as Outlook sends, when ``html``)."""
    msg = EmailMessage()
    msg["From"], msg["To"] = f"山本 太郎 <{BOSS}>", answered["Reply-To"]
    msg["Subject"] = f"RE: {answered['Subject']}"
    msg["In-Reply-To"] = msg["References"] = answered["Message-ID"]
    if html:
        msg.set_content(body, subtype="html", cte="quoted-printable")
    else:
        msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.send_message(msg)


def _posts(session: Any, thread_id: int) -> list[str]:
    session.expire_all()
    bodies = [p.body for p in session.scalars(select(Post).where(Post.thread_id == thread_id))]
    session.commit()  # end the read: SQLite's writer (the intake) must not wait for us
    return bodies


def _last_row(session: Any) -> InboundMessage:
    session.expire_all()
    row = session.scalar(select(InboundMessage).order_by(InboundMessage.id.desc()))
    session.commit()
    return row


def _pending(session: Any) -> PendingReply | None:
    session.expire_all()
    pending = session.scalar(select(PendingReply))
    session.commit()
    return pending


def _which_mails(app: Any, sink: Any) -> list[EmailMessage]:
    delivery.drain_outbox(app)
    return [m for m in to(sink, BOSS) if str(m["Reply-To"]).startswith("which+")]


def _ja(app: Any, fn: Any, *args: Any, **kw: Any) -> str:
    """What the Japanese mail says for a message, from the catalog."""
    with app.test_request_context(), force_locale("ja"):
        return str(fn(*args, **kw))


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- Outlook's HTML reply -------------------------------------------------------------------


def _word_wrap(html: str, width: int = 76) -> str:
    """Word's HTML source: whitespace collapsed, lines broken at a space near 76 columns."""
    lines, line = [], ""
    for word in re.sub(r"\s+", " ", html).split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\r\n".join([*lines, line])


def _answer_under(original: str, thread_id: int, answer: str, style: str) -> str:
    """Type ``answer`` below the first item of ``thread_id``: Outlook ends the list there and
    opens a paragraph in the writer's colour."""
    item = re.compile(rf"<li>\[#{thread_id}\].*?</li>", re.S)
    found = item.search(original)
    assert found is not None, original
    if style == "desktop":
        typed = f"<p class=MsoNormal><span style='color:#0070C0'>{answer}<o:p></o:p></span></p>"
    else:
        typed = (f'<div class="elementToProof"><span style="color: rgb(0, 112, 192);">{answer}'
                 "</span></div>")  # fmt: skip
    return f"{original[: found.end()]}</ul>{typed}<ul>{original[found.end() :]}"


def _outlook_header(form: str, subject: str) -> str:
    """Outlook's reply header as HTML: ``br`` (fields in one paragraph), ``word`` (Word's markup,
    a line break in its source beside each <br>), ``paras`` (a paragraph a field), ``oneline``
    (no breaks), ``en`` (an English Outlook), ``mobile`` (Outlook for iOS: 日付, not 送信日時)."""
    fields = [
        ("差出人", "Hiroba &lt;hiroba@hub.test&gt;"),
        ("送信日時", "2026年12月1日 8:00"),
        ("宛先", f"山本 太郎 &lt;{BOSS}&gt;"),
        ("件名", subject),
    ]
    if form == "en":
        english = ("From", "Sent", "To", "Subject")
        fields = [(e, v) for e, (_, v) in zip(english, fields, strict=True)]
        fields[1] = ("Sent", "Tuesday, December 1, 2026 8:00 AM")
    if form == "mobile":
        fields[1] = ("日付", "2026年12月1日火曜日 8:00")
    if form == "word":
        return "".join(
            f"<b><span style='font-size:11.0pt'>{k}<span lang=EN-US>:</span></span></b>"
            f"<span lang=EN-US style='font-size:11.0pt'> {v}\r\n<br>\r\n</span>"
            for k, v in fields
        )
    joint = {"paras": "</p>\r\n<p class=MsoNormal>", "oneline": " "}.get(form, "<br>")
    return joint.join(f"<b>{k}:</b> {v}" for k, v in fields)


def _outlook_html(
    digest: EmailMessage, top: str, answers: dict[int, str], style: str, header: str = "br"
) -> str:
    """Outlook's HTML reply to ``digest``: ``top`` above its reply header (the desktop's
    border-top box, or Outlook on the web's #divRplyFwdMsg; its form as ``_outlook_header``
    has it), the digest's own HTML below it with ``answers`` typed under their items."""
    digest_html = digest.get_body(("html",)).get_content()
    original = re.search(r"<body[^>]*>(.*)</body>", digest_html, re.S).group(1)
    for thread_id, answer in answers.items():
        original = _answer_under(original, thread_id, answer, style)
    header = _outlook_header(header, digest["Subject"])
    if style == "desktop":
        return (
            '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>'
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            '<meta name="Generator" content="Microsoft Word 15 (filtered medium)">'
            '<style><!-- p.MsoNormal {margin:0mm; font-size:10.5pt; font-family:"游ゴシック";}'
            " --></style></head>\r\n"
            '<body lang="JA" link="#0563C1" vlink="#954F72" style="word-wrap:break-word">'
            '<div class="WordSection1">\r\n'
            f"<p class=MsoNormal>{top}<o:p></o:p></p>\r\n"
            "<p class=MsoNormal><o:p>&nbsp;</o:p></p>\r\n"
            '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0mm 0mm 0mm">'
            f"\r\n<p class=MsoNormal>{header}<o:p></o:p></p>\r\n</div>\r\n"
            "<p class=MsoNormal><o:p>&nbsp;</o:p></p>\r\n"
            f"{_word_wrap(original)}\r\n</div></body></html>"
        )
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        '<style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} </style>'
        '</head><body dir="ltr"><div class="elementToProof" style="font-family: Aptos; '
        f'font-size: 12pt; color: rgb(0, 0, 0);">{top}</div>'
        '<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" '
        f'style="font-size:11pt" color="#000000">{header}</font><div>&nbsp;</div></div>'
        f"<div>{original}</div></body></html>"
    )


@pytest.mark.parametrize("top", ["", GREETING])
@pytest.mark.parametrize("style", ["desktop", "web"])
def test_outlook_html_reply_answers_typed_into_the_digest(
    app, session, smtp_sink, sales, intake, style, top
):
    """Outlook sends HTML only, the digest below its reply header, the answers typed under two
    items in blue: each answer is posted in its item's thread, nothing of the digest anywhere
    (nor kept to ask about), and the greeting above asks nothing."""
    digest = _digest(app, session, smtp_sink)
    before = {key: _posts(session, tid) for key, tid in sales.items()}
    answers = {sales["list"]: ANSWER_LIST, sales["duty"]: ANSWER_DUTY}
    _send(intake.port, digest, _outlook_html(digest, top, answers, style), html=True)
    assert _posts(session, sales["duty"]) == [*before["duty"], ANSWER_DUTY]
    assert _posts(session, sales["list"]) == [*before["list"], ANSWER_LIST]
    assert _posts(session, sales["sales"]) == before["sales"]
    row = _last_row(session)
    assert row.status == "replied" and len(row.results) == 2
    assert _pending(session) is None and not _which_mails(app, smtp_sink)


# --- The greeting above inline answers ------------------------------------------------------


def _gmail_inline(digest: EmailMessage, top: str, answers: dict[int, str]) -> str:
    lines = text_of(digest).splitlines()
    body = [top, "", "2026年12月1日(火) 8:00 Hiroba <hiroba@hub.test>:", ""] if top else []
    for ln in lines:
        body.append(f"> {ln}" if ln else ">")
        marker = re.match(r"\[#(\d+)\]", ln)
        if marker and int(marker.group(1)) in answers:
            body += ["", answers.pop(int(marker.group(1))), ""]
    return "\n".join(body)


def _outlook_text(digest: EmailMessage, top: str, answers: dict[int, str]) -> str:
    """Outlook's plain-text reply: no '>', the digest copied under a 差出人 block."""
    copy = []
    for ln in text_of(digest).splitlines():
        copy.append(ln)
        marker = re.match(r"\[#(\d+)\]", ln)
        if marker and int(marker.group(1)) in answers:
            copy.append(answers.pop(int(marker.group(1))))
    return (
        f"{top}\r\n\r\n________________________________\r\n"
        "差出人: Hiroba <hiroba@hub.test>\r\n送信日時: 2026年12月1日 8:00\r\n"
        f"宛先: 山本 太郎 <{BOSS}>\r\n件名: {digest['Subject']}\r\n\r\n" + "\r\n".join(copy)
    )


def _reply(kind: str, digest: EmailMessage, top: str, answers: dict[int, str]) -> str:
    if kind == "gmail":
        return _gmail_inline(digest, top, answers)
    if kind == "outlook-text":
        return _outlook_text(digest, top, answers)
    return _outlook_html(digest, top, answers, "desktop")


@pytest.mark.parametrize("kind", ["gmail", "outlook-text", "outlook-html"])
@pytest.mark.parametrize(
    "top",
    [
        GREETING,
        "お疲れさまです。\n営業部の山本です。",
        "お世話になっております。山本です。\n下記、青字で回答します。",
        "Hi all,",
    ],
)
def test_a_greeting_above_inline_answers_is_not_asked_about(
    app, session, smtp_sink, sales, intake, kind, top
):
    """The usual "お疲れ様です。山本です。" above the answers is no answer: the answers are
    posted, no "which thread?" mail comes, and the mail log keeps the greeting (posted nowhere)."""
    digest = _digest(app, session, smtp_sink)
    before = {key: _posts(session, tid) for key, tid in sales.items()}
    answers = {sales["list"]: ANSWER_LIST, sales["duty"]: ANSWER_DUTY}
    _send(intake.port, digest, _reply(kind, digest, top, answers), html=kind == "outlook-html")
    assert _posts(session, sales["duty"]) == [*before["duty"], ANSWER_DUTY]
    assert _posts(session, sales["list"]) == [*before["list"], ANSWER_LIST]
    assert _posts(session, sales["sales"]) == before["sales"]
    assert _pending(session) is None and not _which_mails(app, smtp_sink)
    logged = log_entry(_last_row(session))
    assert logged["status"] == "replied" and logged["reason"] is None
    assert _flat(top) in _flat(logged["trimmed"])


@pytest.mark.parametrize("kind", ["gmail", "outlook-text", "outlook-html"])
@pytest.mark.parametrize(
    "top", [f"{GREETING}\n来週の営業会議は欠席します。", "了解です。", "Hi all, see you at 10."]
)
def test_more_than_a_greeting_above_inline_answers_is_asked_about(
    app, session, smtp_sink, sales, intake, kind, top
):
    """A real sentence beside the greeting is kept whole and asked about; the question says
    which answers of the mail were posted already."""
    digest = _digest(app, session, smtp_sink)
    answers = {sales["list"]: ANSWER_LIST, sales["duty"]: ANSWER_DUTY}
    _send(intake.port, digest, _reply(kind, digest, top, answers), html=kind == "outlook-html")
    assert _posts(session, sales["duty"])[-1] == ANSWER_DUTY
    assert _posts(session, sales["list"])[-1] == ANSWER_LIST
    assert _flat(_pending(session).text) == _flat(top)
    (which,) = _which_mails(app, smtp_sink)
    markers = format_list([f"#{sales['list']}", f"#{sales['duty']}"], locale="ja")
    said = _ja(app, ngettext, "Your answer to %(markers)s was posted.",
               "Your answers to %(markers)s were posted.", 2, markers=markers)  # fmt: skip
    assert f"#{sales['list']}" in said and _flat(said) in _flat(text_of(which))


def test_a_greeting_alone_is_still_asked_about(app, session, smtp_sink, sales, intake):
    """With no answer placed, even a greeting is kept and asked about (never dropped)."""
    digest = _digest(app, session, smtp_sink)
    _send(intake.port, digest, _gmail_inline(digest, GREETING, {}))
    assert _pending(session).text == GREETING
    (which,) = _which_mails(app, smtp_sink)
    assert "posted" not in text_of(which)


# --- Answering "which thread?" --------------------------------------------------------------


def _kept_and_asked(app: Any, session: Any, sink: Any, port: int, kept: str) -> EmailMessage:
    """A top-posted text the digest reply does not place: kept, and asked about."""
    digest = _digest(app, session, sink)
    _send(port, digest, _gmail_inline(digest, kept, {}))
    assert _pending(session).text == kept
    (which,) = _which_mails(app, sink)
    return which


def _number(which: EmailMessage, thread_id: int) -> str:
    """What the member writes for a listed thread: its marker's number (the list has no other)."""
    assert re.search(rf"^\[#{thread_id}\] ", text_of(which), re.M), text_of(which)
    return str(thread_id)


def _outlook_answer(which: EmailMessage, typed: str) -> str:
    return (
        f"{typed}\r\n\r\n________________________________\r\n"
        "差出人: Hiroba <hiroba@hub.test>\r\n送信日時: 2026年12月1日 8:05\r\n"
        f"件名: {which['Subject']}\r\n\r\n{text_of(which)}"
    )


def test_which_thread_answered_with_the_number_and_more_text(
    app, session, smtp_sink, sales, intake
):
    """The number and a sentence: the kept text and the new sentence are posted there, in that
    order, as one post."""
    kept = "携帯番号の件、確認しました。"
    which = _kept_and_asked(app, session, smtp_sink, intake.port, kept)
    new = "田中さん、携帯番号ありがとう。連絡網にも追記してください。"
    typed = f"{_number(which, sales['list'])}\r\n{new}"
    _send(intake.port, which, _outlook_answer(which, typed))
    assert _posts(session, sales["list"])[-1] == f"{kept}\n\n{new}"
    row = _last_row(session)
    assert row.status == "replied" and row.text == f"{kept}\n\n{new}"
    assert _pending(session).resolved_at is not None


@pytest.mark.parametrize(
    ("typed", "posted"),
    [
        ("{n}番です。", ""),
        ("{n}。よろしくお願いします。", ""),
        ("お疲れ様です。#{tid} でお願いします。", ""),
        ("#{tid} 連絡網にも追記してください。", "連絡網にも追記してください。"),
        ("{n} 連絡網にも追記してください。", "連絡網にも追記してください。"),
    ],
)
def test_which_thread_number_written_the_usual_ways(
    app, session, smtp_sink, sales, intake, typed, posted
):
    """The number or marker with the usual words around it chooses; only real text is added."""
    kept = "携帯番号の件、確認しました。"
    which = _kept_and_asked(app, session, smtp_sink, intake.port, kept)
    n = _number(which, sales["list"])
    _send(intake.port, which, typed.format(n=n, tid=sales["list"]))
    assert _posts(session, sales["list"])[-1] == "\n\n".join(t for t in (kept, posted) if t)


def test_which_thread_answered_with_text_and_no_number(app, session, smtp_sink, sales, intake):
    """Text with no number is kept with the earlier text and the question is asked once more,
    saying so; the number then posts both."""
    kept = "携帯番号の件、確認しました。"
    which = _kept_and_asked(app, session, smtp_sink, intake.port, kept)
    new = "3月の件とあわせて、田中さんに連絡網へ追記をお願いしたいです。"
    _send(intake.port, which, _outlook_answer(which, new))
    row = _last_row(session)
    assert (row.status, row.reason) == ("held", "ambiguous_digest_reply")
    assert _pending(session).text == f"{kept}\n\n{new}"
    first, again = _which_mails(app, smtp_sink)
    body = text_of(again)
    assert _flat(_ja(app, gettext, ADDED)) in _flat(body)
    assert f"| {kept}" in body and f"| {new}" in body
    assert _posts(session, sales["list"]) == ["携帯番号を更新しました。"]
    _send(intake.port, again, _number(again, sales["list"]))
    assert _posts(session, sales["list"])[-1] == f"{kept}\n\n{new}"
    assert len(_which_mails(app, smtp_sink)) == 2


def test_which_thread_sent_back_with_nothing_written(app, session, smtp_sink, sales, intake):
    """Our question sent back with nothing written chooses nothing (its list has markers): the
    text stays kept, and the question is asked again."""
    kept = "携帯番号の件、確認しました。"
    which = _kept_and_asked(app, session, smtp_sink, intake.port, kept)
    quoted = "\n".join(f"> {ln}" if ln else ">" for ln in text_of(which).splitlines())
    _send(intake.port, which, f"On Tue, Dec 1, 2026 at 8:05 AM Hiroba wrote:\n{quoted}")
    assert [_posts(session, tid)[1:] for tid in sales.values()] == [[], [], []]
    assert _pending(session).text == kept and _pending(session).resolved_at is None
    assert len(_which_mails(app, smtp_sink)) == 2


# --- Outlook's reply header is never kept --------------------------------------------------

INTRO = "インラインで回答します。"
HEADERS = ["br", "word", "paras", "oneline", "en", "mobile"]


def _html_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""


@pytest.mark.parametrize("header", HEADERS)
@pytest.mark.parametrize("style", ["desktop", "web"])
def test_an_intro_line_above_inline_answers_is_not_asked_about(
    app, session, smtp_sink, sales, intake, style, header
):
    """Outlook HTML only, 「インラインで回答します。」 above its reply header, answers typed under
    two items: both posted, and nothing asked. The intro only says where the answers are, and
    they were placed: asking "which thread?" about it is noise (the mail log keeps it). The
    header block, in whatever form Outlook wrote it, is never part of the text."""
    digest = _digest(app, session, smtp_sink)
    before = {key: _posts(session, tid) for key, tid in sales.items()}
    answers = {sales["list"]: ANSWER_LIST, sales["duty"]: ANSWER_DUTY}
    _send(intake.port, digest, _outlook_html(digest, INTRO, answers, style, header), html=True)
    assert _posts(session, sales["duty"]) == [*before["duty"], ANSWER_DUTY]
    assert _posts(session, sales["list"]) == [*before["list"], ANSWER_LIST]
    assert _pending(session) is None and not _which_mails(app, smtp_sink)
    logged = log_entry(_last_row(session))
    assert logged["status"] == "replied" and INTRO in logged["trimmed"]


@pytest.mark.parametrize("header", HEADERS)
def test_text_above_the_outlook_header_is_kept_without_it(
    app, session, smtp_sink, sales, intake, header
):
    """A real sentence above the header (bold in Outlook) is kept and asked about alone: the
    question quotes it, not the header, and its HTML part shows it as text, not as Markdown;
    answering it posts the sentence alone."""
    digest = _digest(app, session, smtp_sink)
    answers = {sales["list"]: ANSWER_LIST, sales["duty"]: ANSWER_DUTY}
    top = "<b>来週の営業会議</b>は欠席します。"
    _send(intake.port, digest, _outlook_html(digest, top, answers, "desktop", header), html=True)
    assert _pending(session).text == "**来週の営業会議**は欠席します。"
    (which,) = _which_mails(app, smtp_sink)
    html = _html_of(which)
    assert "**" not in html and "<strong>来週の営業会議</strong>は欠席します。" in html
    assert "| 来週の営業会議は欠席します。" in text_of(which)
    for part in (text_of(which), html):
        assert "差出人" not in part and "From:" not in part and "hiroba@hub.test" not in part
    _send(intake.port, which, f"#{sales['sales']}")
    assert _posts(session, sales["sales"])[-1] == "**来週の営業会議**は欠席します。"
