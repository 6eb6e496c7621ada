"""Strings defined in one place and translated where they are shown (tables of reasons), and
the honorific a member's name takes in Japanese."""

from __future__ import annotations

# The honorific rule (``honorific``). Japanese addresses a member as 山田 太郎さん, but many
# companies put the title in the display name ("部長 山田", "山本 部長", "田中課長", "佐藤様",
# "鈴木先生"), and a second honorific after it ("山本 部長さん") reads wrong to every Japanese
# reader. A name carries a title when one of its words (split at spaces, full-width too,
# brackets around a word ignored: "山本 誠 (部長)"):
#   - ends with one of TITLES ("部長", "山本部長", "営業部長", "副社長", "課長代理"), or
#   - is one of WORD_TITLES on its own ("山田 氏"), or
#   - is the first word and begins with one of the job titles in TITLES ("部長山田").
# 君, 殿 and 氏 count only as a word of their own: they end real given names (足利尊氏,
# 王君, 李志君), so "尊氏" still gets さん. Every suffix in TITLES was checked against given
# names and surnames; the one known misreading is a name written without a space whose surname
# ends in 部 and whose given name is the single character 長 ("阿部長" is read as 阿 + 部長,
# "阿部 長" is not). Missing a rare さん reads curt; a double honorific reads wrong.
JOB_TITLES = (
    "部長", "課長", "社長", "会長", "専務", "常務", "取締役", "次長", "室長", "係長", "主任",
    "所長", "支店長", "工場長", "店長", "監督", "代理", "補佐",
)  # fmt: skip
TITLES = (*JOB_TITLES, "様", "さん", "くん", "ちゃん", "先生")
WORD_TITLES = ("君", "殿", "氏")
_BRACKETS = "()（）[]［］【】「」〈〉<>"
SAN = "さん"


def N_(message: str) -> str:
    """Mark ``message`` for extraction (``pybabel extract -k N_``) and return it unchanged: it
    is translated where it is shown (a mail template's ``_(why)``), in the reader's language."""
    return message


def has_title(name: str) -> bool:
    """Tell whether ``name`` already carries a title or an honorific (the rule above).

    >>> [has_title(n) for n in ("部長 山田", "山本 部長", "田中課長", "佐藤様", "山田 太郎")]
    [True, True, True, True, False]
    >>> [has_title(n) for n in ("足利 尊氏", "山田 氏", "阿部 長", "Emily Carter")]
    [False, True, False, False]
    """
    words = [w.strip(_BRACKETS) for w in name.split()]
    words = [w for w in words if w]
    if not words:
        return False
    if words[0].startswith(JOB_TITLES):
        return True
    return any(w.endswith(TITLES) or w in WORD_TITLES for w in words)


def honorific(name: str | None, locale: object = None) -> str:
    """``name`` as a sentence addresses them in ``locale`` (the current Flask-Babel locale when
    None: the recipient's in a mail, the page's on the web): in Japanese with さん right after
    it, unless it already carries a title; in English unchanged. Also the ``honorific`` filter.

    >>> honorific("山田 太郎", "ja"), honorific("部長 山田", "ja"), honorific("山田 太郎", "en")
    ('山田 太郎さん', '部長 山田', '山田 太郎')
    """
    if not name:
        return name or ""
    if locale is None:
        from flask_babel import get_locale

        locale = get_locale()
    language = str(locale or "").replace("-", "_").split("_")[0].lower()
    if language != "ja" or has_title(name):
        return name
    return name.rstrip() + SAN
