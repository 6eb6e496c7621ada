"""Markdown written out as plain text for the text part of mail (hub.plaintext.markdown_text)."""

from __future__ import annotations

import pytest

from hub.plaintext import excerpt, markdown_text
from hub.text import snippet


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("**全員**に*確認*を", "全員に確認を"),
        ("~~古い~~と`help@`", "古いとhelp@"),
        ("[使い方](http://hub/guide) と http://hub/rules", "使い方 (http://hub/guide) と http://hub/rules"),
        ("<http://hub/a>", "http://hub/a"),
        ("# 目的\n\n本文", "目的\n\n本文"),
        ("- 一\n- **二**\n  1. 三\n  2. 四\n- 五", "- 一\n- 二\n  1. 三\n  2. 四\n- 五"),
        ("3. 三\n4. 四", "3. 三\n4. 四"),
        ("> 引用\n>\n> 続き\n\n後", "> 引用\n>\n> 続き\n\n後"),
        ("一行目\n二行目", "一行目\n二行目"),
        ("```\nx = 1\n```", "    x = 1"),
        ("|項目|内容|\n|-|-|\n|**期限**|3月末|", "項目 | 内容\n期限 | 3月末"),
        ("![図](http://hub/a.png)", "図 (http://hub/a.png)"),
        ("1 \\* 2 &amp; 3", "1 * 2 & 3"),
        ("<b>html</b>", "<b>html</b>"),
        ("", ""),
    ],
)  # fmt: skip
def test_markdown_as_text(source: str, text: str) -> None:
    assert markdown_text(source) == text


def test_excerpt_is_one_line_of_text() -> None:
    source = "**至急**：[見積](http://hub/q)\n\n- `A` 済み\n- B"
    assert excerpt(source) == "至急：見積 (http://hub/q) - A 済み - B"
    # The length counts what is shown, not the marks.
    assert excerpt("**" + "長い" * 100 + "**", 10) == "長い長い長い長い長…"


def test_excerpt_of_a_long_post_reads_its_start() -> None:
    post = "**至急**：[見積書](https://hub/q/1) を確認してください。\n\n" + "- 項目 詳細\n" * 2000
    assert excerpt(post) == snippet(markdown_text(post), 140)
    assert excerpt(post, 40) == snippet(markdown_text(post), 40)
    long_line = "**" + "長い" * 1000 + "**"
    assert excerpt(long_line, 10) == "長い長い長い長い長…"
