"""The digest's own lines in a reply, however a client copied them (digest_copy)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from mailbridge.digest_copy import digest_keys, unquoted_answers

TEXT = """##- この行より上に返信してください / Please reply above this line -##

山本 太郎さん、2026-12-01 08:00 以降の新着です。

== 営業 ==
営業部の連絡と相談

[#3] 緊急連絡網の更新  (新しいスレッド)
    新しい投稿 1 件 · 田中 一郎: 携帯番号を更新しました。
    返信する: <mailto:reply+abc@hub.test?subject=Re%3A%20x>

[#2] 年末年始の当番表  (新しいスレッド)
    新しい投稿 1 件 · 田中 一郎: 当番表を作りました。
    返信する: <mailto:reply+def@hub.test?subject=Re%3A%20y>

--\x20
メールの受け取り方の変更: http://hub.test/mail/prefs/xyz
"""
HTML = """<html><body><p>##- この行より上に返信してください / Please reply above this line -##</p>
<p>山本 太郎さん、2026-12-01 08:00 以降の新着です。</p><h2>営業</h2><p>営業部の連絡と相談</p>
<ul><li>[#3] <a href="http://hub.test/t/3">緊急連絡網の更新</a> (新しいスレッド)<br>
新しい投稿 1 件 · 田中 一郎: 携帯番号を更新しました。
· <a href="mailto:reply+abc@hub.test?subject=Re%3A%20x">返信する</a></li>
<li>[#2] <a href="http://hub.test/t/2">年末年始の当番表</a> (新しいスレッド)<br>
新しい投稿 1 件 · 田中 一郎: 当番表を作りました。
· <a href="mailto:reply+def@hub.test?subject=Re%3A%20y">返信する</a></li></ul>
<hr><p><a href="http://hub.test/mail/prefs/xyz">メールの受け取り方を変更</a></p></body></html>"""


@pytest.fixture(scope="module")
def digest() -> list[list[str]]:
    msg = EmailMessage()
    msg.set_content(TEXT)
    msg.add_alternative(HTML, subtype="html")
    return digest_keys(msg.as_bytes())


@pytest.mark.parametrize(
    "copy",
    [
        pytest.param(
            # Outlook's HTML reply read as text, its links through Safe Links, its lines
            # reflowed: a short first piece ("山本") and two lines joined into one.
            """##- この行より上に返信してください / Please reply above this line -##

山本
太郎さん、2026-12-01 08:00 以降の新着です。

## 営業

営業部の連絡と相談

- [#3] [緊急連絡網の更新](https://jpn01.safelinks.protection.outlook.com/?url=http%3A%2F%2Fhub.te\
st%2Ft%2F3) (新しいスレッド)
  新しい投稿 1 件 · 田中 一郎: 携帯番号を更新しました。 · [返信する](mailto:reply+abc@hub.test)

連絡網の件、了解です。

- [#2] [年末年始の当番表](http://hub.test/t/2) (新しいスレッド)
  新しい投稿 1 件 · 田中 一郎:
  当番表を作りました。
  · [返信する](mailto:reply+def@hub.test?subject=Re%3A%20y)

当番表、承認します。

---

[メールの受け取り方を変更](http://hub.test/mail/prefs/xyz)""",
            id="outlook-html-reflowed",
        ),
        pytest.param(
            # Outlook's plain text, long lines (and links) wrapped in pieces.
            """##- この行より上に返信してください / Please reply above this line -##

山本 太郎さん、2026-12-01 08:00 以降の新着です。

== 営業 ==
営業部の連絡と相談

[#3] 緊急連絡網の更新  (新しいスレッド)
    新しい投稿 1 件 · 田中 一郎: 携帯番号を更新しました。
    返信する: <mailto:reply+abc@hub.test?sub
ject=Re%3A%20x>
連絡網の件、了解です。

[#2] 年末年始の当番表  (新しいスレッド)
    新しい投稿 1 件 · 田中 一郎: 当番表を
作りました。
当番表、承認します。
    返信する: <mailto:reply+def@hub.test?subject=Re%3A%20y>

--
メールの受け取り方の変更: http://hub.test/mail/prefs/xyz""",
            id="outlook-text-wrapped",
        ),
    ],
)
def test_answers_in_a_copy_of_the_digest(digest: list[list[str]], copy: str) -> None:
    pairs = unquoted_answers(copy, digest)
    assert [(item.split("]")[0].lstrip("- "), answer) for item, answer in pairs] == [
        ("[#3", "連絡網の件、了解です。"),
        ("[#2", "当番表、承認します。"),
    ]


def test_a_url_alone_is_an_answer(digest: list[list[str]]) -> None:
    """Links are left out when lines are compared, yet a link written as an answer is one."""
    item = "[#2] 年末年始の当番表  (新しいスレッド)"
    copy = TEXT.replace(f"{item}\n", f"{item}\nhttps://example.jp/touban.xlsx\n")
    assert unquoted_answers(copy, digest) == [(item, "https://example.jp/touban.xlsx")]
