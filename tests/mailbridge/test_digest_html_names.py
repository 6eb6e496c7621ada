"""A name in the digest's "Needs you" is text in the HTML part too: a member's name is theirs
to write (the preferences page), and '<a href=...>' in it was put in the digest's HTML as
markup, a link into every manager's digest. The text part keeps the name as written. Through
the digest build and the outbox drain to a real SMTP sink; SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.db import utcnow
from hub.models import Via
from hub.services import threads
from mailbridge import delivery, digests
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import text_of, to

BOSS = "boss@corp.example"
NAME = 'R&D <a href="http://evil.example">研究</a>'


def test_a_name_is_escaped_in_the_html_part_and_kept_in_the_text_part(
    app: Any, session: Any, smtp_sink: Any
) -> None:
    app.config["RELAY_URL"] = smtp_sink.url
    boss = make_user(session, email=BOSS, name="部長", email_only=True)
    odd = make_user(session, email="rd@corp.example", name=NAME)
    work = make_channel(session, slug="work", name="仕事")
    make_thread(session, channel=work, author=odd, title="試作", body="@boss 見てください")
    plan = make_thread(session, channel=work, author=boss, title="予算", body="案です")
    threads.reply(session, author=odd, thread=plan.thread, body="締切は？", via=Via.WEB)
    session.commit()
    user = session.scalar(select(digests.User).where(digests.User.email == BOSS))
    assert digests.build_and_queue_digest(app, session, user, "daily:t", utcnow()) is not None
    session.commit()
    delivery.drain_outbox(app)
    (mail,) = [m for m in to(smtp_sink, BOSS) if "digest" in str(m["List-Id"])]
    html = mail.get_body(("html",))
    assert html is not None
    needs = html.get_content().split("</ul>", 1)[0]
    assert "evil.example" in needs
    assert '<a href="http://evil.example">' not in needs
    assert "R&amp;D &lt;a href=&#34;http://evil.example&#34;&gt;研究&lt;/a&gt;" in needs
    assert needs.count("mentioned you") == 1 and needs.count("asked in your thread") == 1
    assert f"{NAME} mentioned you: @部長 見てください" in text_of(mail)
