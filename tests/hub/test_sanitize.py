"""XSS payloads posted as replies and read back through the real thread page: none survives."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.factories import make_channel, make_thread, make_user

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    '<img src=x onerror="alert(1)">',
    "<img src=x onerror=alert(1)//",
    '<body onload="alert(1)">',
    '<div onmouseover="alert(1)">hover</div>',
    '<details open ontoggle="alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](%6A%61vascript:alert(1))",
    "![img](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<javascript:alert(1)>",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![data](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<iframe src="https://evil.example"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "[x](vbscript:msgbox(1))",
    '[x](https://ok.example "title" onmouseover="alert(1)")',
    '"><script>alert(1)</script>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "\\<script\\>alert(1)\\</script\\>",
    "`<script>`alert(1)",
    'https://example.com/"onmouseover="alert(1)',
]


class Audit(HTMLParser):
    """Collect what a browser would run: script-ish tags, on* handlers, bad URL schemes."""

    BAD_TAGS = {"script", "iframe", "object", "embed", "svg", "math", "style", "meta", "base"}

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BAD_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag} {name}")
            if name in ("href", "src", "action", "formaction", "xlink:href", "data") and value:
                scheme = re.match(r"\s*([a-zA-Z][\w+.-]*):", value)
                if scheme and scheme.group(1).lower() not in ("http", "https", "mailto"):
                    self.problems.append(f"{tag} {name}={value}")
            if name == "style" and value and "url(" in value:
                self.problems.append(f"{tag} style")


def post_bodies(html: str) -> list[str]:
    return re.findall(r'<div class="body">(.*?)</div>\s*(?:<details|<ul|<footer)', html, re.S)


def test_no_payload_survives_on_the_thread_page(client, session, auth):
    user = make_user(session, email="x@corp.example")
    chan = make_channel(session)
    # Two threads, so every post fits on the first page (a page shows the newest 30).
    batches = [PAYLOADS[:20], PAYLOADS[20:]]
    ids = [make_thread(session, channel=chan, author=user, body="first").thread_id for _ in batches]
    session.commit()
    auth.login("x@corp.example")
    leaks, seen, pages = [], 0, ""
    for thread_id, batch in zip(ids, batches, strict=True):
        for payload in batch:
            assert client.post(f"/t/{thread_id}/reply", data={"body": payload}).status_code == 303
        page = client.get(f"/t/{thread_id}").get_data(as_text=True)
        pages += page
        bodies = post_bodies(page)[1:]
        assert len(bodies) == len(batch)
        for payload, body in zip(batch, bodies, strict=True):
            seen += 1
            audit = Audit()
            audit.feed(body)
            if audit.problems:
                leaks.append((payload, audit.problems, body))
    assert seen == len(PAYLOADS) >= 25
    assert leaks == []
    # The text is still there for people to read, as text.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages
