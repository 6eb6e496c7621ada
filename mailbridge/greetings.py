"""Greetings, self-introductions and sign-offs: the words around a reply that answer nothing.

"お疲れ様です。山本です。" above the answers written under a digest's items, or "以上、よろしく
お願いします。" below them, says hello and goodbye; it is no answer to place in a thread. Only
these set phrases and the writer's own name count: a text with any other word is not one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = ["only_greetings"]

# Set phrases, each matched whole against a sentence of the text (NFKC, lower case), or against
# every piece of it between commas ("以上、よろしくお願いします", "thanks, taro").
_PHRASES = (
    # Japanese: the daily greeting, addressing everyone, thanks, the sign-off.
    r"(?:いつも|本日も|今日も)?(?:大変)?お疲れ(?:様|さま)?(?:です|でございます|でした)",
    r"おつかれ(?:さま)?です",
    r"(?:いつも|平素より|平素は)?(?:大変)?お世話に(?:なっております|なっています|なります|なりました)",
    r"おはようございます|こんにちは|こんばんは",
    r"(?:関係者)?各位|皆(?:様|さま|さん)|みな(?:さま|さん)",
    r"(?:いつも)?(?:どうも)?ありがとうございます",
    r"(?:引き続き|今後とも)?(?:どうぞ)?(?:よろしく|宜しく)お願い(?:します|いたします|致します|申し上げます)",
    r"以上(?:です|となります|になります)?",
    r"取り急ぎ(?:ご)?(?:返信|連絡|報告|回答)(?:まで|いたします|します)?",
    # Saying where the answers are: "下記、青字で回答します", "インラインで失礼します". Only
    # beside answers that were placed: such a line introduces them, and asking "which thread?"
    # about it asks about nothing (the mail log keeps it). With no answer placed it is asked
    # about like any text: the answers it announces were not found, and the member must know.
    r"(?:(?:下記|以下)(?:の(?:通り|とおり))?(?:に|へ)?、?)?"
    r"(?:インライン(?:で|にて)|文中(?:で|に|にて)|[赤青緑]字(?:で|にて)|各項目の下に)?"
    r"(?:回答|返信|コメント|お返事)(?:を(?:記入|記載|追記|入れ|書き))?"
    r"(?:します|いたします|致します|申し上げます|しました|いたしました|致しました|ました)",
    r"(?:インライン|文中)(?:で|にて)失礼(?:します|いたします|致します)",
    r"(?:回答|返信|コメント)は(?:下記|以下)(?:の(?:通り|とおり))?です",
    # English.
    r"(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|morning)"
    r"(?: (?:all|everyone|everybody|team|folks|there))?",
    r"(?:many )?thanks(?: (?:all|everyone|a lot|again))?|thank you(?: (?:all|everyone))?",
    r"cheers|best|regards|(?:best|kind|warm) regards|br",
    r"(?:please )?(?:see )?(?:my )?(?:answers|comments|replies) (?:inline|below)(?: below)?",
    r"(?:please )?see (?:inline|below)|my (?:answers|comments|replies) are (?:inline|below)",
)
_PHRASE = re.compile("|".join(f"(?:{p})" for p in _PHRASES))
_SENTENCES = re.compile(r"[。．.！!？?\n;；]+")
_COMMAS = re.compile(r"[、,，]+")
_EDGES = " \t\u3000~〜-–—*_"
# Where the writer works, in front of their name: "営業部の山本です", "総務課 山本です".
_UNIT = r"(?:[^\s、。]{0,12}(?:部|課|室|局|係|班|チーム|グループ|支店|支社|営業所|センター)の? ?)?"
# A whole text longer than this is never only greetings.
_MAX = 200


def _names(names: Iterable[str | None]) -> list[str]:
    """The writer's name and its parts ("山本 太郎" -> 山本太郎, 山本, 太郎), longest first."""
    found: set[str] = set()
    for name in names:
        norm = unicodedata.normalize("NFKC", name or "").lower()
        parts = [p for p in re.split(r"[\s・]+", norm) if len(p) >= 2]
        found.update(parts)
        if len(parts) > 1:
            found.add("".join(parts))
    return sorted(found, key=len, reverse=True)


def _introduction(names: list[str]) -> re.Pattern[str] | None:
    """Match "山本です", "営業部の山本です", "山本 太郎", "This is Taro", "Taro here"."""
    if not names:
        return None
    name = "(?:{0})(?: ?(?:{0}))?".format("|".join(map(re.escape, names)))
    return re.compile(
        rf"{_UNIT}{name} ?(?:です|でございます|と申します)?"
        rf"|(?:this is|it's|it is) {name}|{name} here"
    )


def only_greetings(text: str, names: Iterable[str | None] = ()) -> bool:
    """Tell whether ``text`` is only greetings, self-introduction (by one of ``names``, the
    writer's) and sign-off; False for anything else, and for an empty text."""
    norm = unicodedata.normalize("NFKC", text).lower()
    if len(norm) > _MAX:
        return False
    intro = _introduction(_names(names))

    def said(piece: str) -> bool:
        piece = re.sub(r"\s+", " ", piece.strip(_EDGES))
        return not piece or bool(
            _PHRASE.fullmatch(piece) or (intro is not None and intro.fullmatch(piece))
        )

    sentences = [s for s in _SENTENCES.split(norm) if s.strip(_EDGES)]
    return bool(sentences) and all(said(s) or all(map(said, _COMMAS.split(s))) for s in sentences)
