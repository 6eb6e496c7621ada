"""HTML-only mail to text, and cutting quoted history out of HTML replies."""

from __future__ import annotations

import pytest

from mailbridge.htmltext import html_to_text, strip_html_quote

OUTLOOK_JA = """<html><head>
<style><!-- p.MsoNormal {margin:0mm; font-family:"游ゴシック";} --></style>
<!--[if gte mso 9]><xml><o:shapedefaults spidmax="1026"/></xml><![endif]--></head>
<body><div class="WordSection1"><p class="MsoNormal">承知しました。<o:p></o:p></p>
<table class="MsoTableGrid" border="1"><tr><td>項目</td><td>金額</td></tr>
<tr><td>旅費</td><td>3万円</td></tr></table>
<blockquote>&lt;script&gt;alert(1)&lt;/script&gt;</blockquote>
<p><a href="https://example.jp/a?b=1&amp;c=2">資料</a></p>
<div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0mm 0mm 0mm">
<p class="MsoNormal"><b>差出人:</b> 山田 太郎<br>
<b>送信日時:</b> 2026年11月27日 10:00</p></div></div>
<p class="MsoNormal">以前のメール本文</p></div></body></html>"""


def test_html_to_text_keeps_structure_and_drops_css() -> None:
    text = html_to_text(OUTLOOK_JA)
    assert "承知しました。" in text
    assert "MsoNormal" not in text and "spidmax" not in text
    assert "| 旅費 | 3万円 |" in text
    assert "> <script>alert(1)</script>" in text
    assert "[資料](https://example.jp/a?b=1&c=2)" in text


@pytest.mark.parametrize(
    ("html", "kept", "gone"),
    [
        pytest.param(
            '<div dir="ltr">Sounds good</div><div class="gmail_quote"><div class="gmail_attr">'
            "On Fri, Nov 27, 2026 at 10:00 AM Taro &lt;t@x.jp&gt; wrote:</div>"
            "<blockquote>old text</blockquote></div>",
            "Sounds good",
            "old text",
            id="gmail",
        ),
        pytest.param(OUTLOOK_JA, "承知しました。", "以前のメール本文", id="outlook-ja-border-mm"),
        pytest.param(
            '<div>了解です</div><div id="appendonsend"></div><hr><div id="divRplyFwdMsg">'
            "<b>差出人:</b> 山田</div><div>古い本文</div>",
            "了解です",
            "古い本文",
            id="outlook-web-appendonsend",
        ),
        pytest.param(
            "<div>Yes.</div><div>On Nov 27, Taro "
            'wrote:</div><blockquote type="cite">old</blockquote>',
            "Yes.",
            "old",
            id="apple-cite",
        ),
        pytest.param(
            '<p>This is a <b>GMAIL</b> reply ;)</p><div class="gmail_signature">'
            "<p>This is the <i>elided</i> part!</p></div>",
            "GMAIL",
            "elided",
            id="gmail-signature",
        ),
    ],
)
def test_strip_html_quote(html: str, kept: str, gone: str) -> None:
    kept_html, trimmed = strip_html_quote(html)
    assert kept in html_to_text(kept_html)
    assert gone not in html_to_text(kept_html)
    assert gone in trimmed


def test_strip_html_quote_leaves_unquoted_html_alone() -> None:
    html = '<p>No history here.</p><div style="border-top:1px solid red">a box</div>'
    assert strip_html_quote(html) == (html, "")


@pytest.mark.parametrize("html", ["", "   ", "<", "<html><body></body></html>", "\x00<p>x"])
def test_degenerate_html_does_not_raise(html: str) -> None:
    assert isinstance(html_to_text(html), str)
    assert isinstance(strip_html_quote(html)[0], str)
