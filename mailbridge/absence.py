"""Out-of-office notices known by their text, for rules that set no header (pure functions).

Many out-of-office rules (hand-made Outlook rules, some groupware, phones) answer with
"Re: <title>" and no RFC 3834 ``Auto-Submitted`` header: only the body says what they are.
Such a body is short and *begins* with the absence sentence, after at most a greeting:

>>> is_absence_notice("お世話になっております。\\n12月1日まで出張のため不在にしております。")
True
>>> is_absence_notice("I'm currently out of office and will reply when I return.")
True
>>> is_absence_notice("Thank you for your email. I am out of the office until Monday.")
True

A real answer that mentions being away begins with the answer, says nothing of a return,
asks something, or goes on at length; it is kept:

>>> is_absence_notice("了解しました。来週は出張のため不在にしております。")
False
>>> is_absence_notice("I'm out of office tomorrow, so please send me the slides today.")
False
>>> is_absence_notice("I am out of the office until Monday. Could you send the slides?")
False
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["is_absence_notice"]

# Longer than this (before any quoted original), it is a message, not a notice.
MAX_CHARS = 600
MAX_LINES = 15
# Where a quoted original begins: '>' lines, Outlook's separator or header block.
_QUOTE_START = re.compile(
    r"^\s*(?:>|-{2,}\s*original message|_{8,}|-{8,}|(?:from|差出人|送信者)\s*[:：])", re.I
)
# Sentences a notice may open with before its absence sentence.
_GREETING = re.compile(
    r"^(?:(?:いつも)?お世話になって(?:おります|います)|お世話になります|お疲れ(?:様|さま)です"
    r"|(?:メール|ご連絡)(?:を)?(?:いただき|頂き)?(?:まして)?(?:誠に|大変)?ありがとうございます"
    r"|thank(?:s| you) for your (?:e-?mail|message|mail|note)|hello|hi|dear\b.*|こんにちは)"
    r"[\s,.!。、！]*$",
    re.I,
)
# The absence sentence. Japanese: "不在にしております", "出張のため…まで不在です",
# "休暇をいただいております". English: "I am out of the office until…", "I'm currently out of
# office", which name the return (until, back, returning) or say "currently".
_ABSENT_JA = re.compile(
    r"不在に(?:して|いた)(?:おり|い)|不在(?:です|でございます|となります|となっております|の(?:ため|予定))"
    r"|(?:休暇|出張|外出|休業|育休|産休)(?:を(?:いただいて|頂いて|取得して|とって|取って)おります"
    r"|中(?:です|でございます|につき|のため|となります))"
)
_ABSENT_EN = re.compile(
    r"^(?:i am|i'm|i will be|i'll be|i have been)\s+(?:currently\s+|now\s+)?"
    r"(?:out of (?:the |my )?office|ooo|away from (?:the |my )?(?:office|desk|email)"
    r"|on (?:annual |parental |maternity |paternity |sick |business )?(?:leave|vacation|holiday)"
    r"|travel+ing|away|out)\b"
)
_RETURN_EN = re.compile(
    r"\b(?:until|till|through|thru|returning|return on|back (?:on|in|at|from)|currently"
    r"|with (?:limited|no) access)\b"
)
_SENTENCE = re.compile(r"(?<=[。！!?？])|(?<=\.)(?=\s)|\n")


def _first_block(text: str) -> list[str]:
    """The lines of ``text`` above a quoted original."""
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if _QUOTE_START.match(line):
            break
        lines.append(line)
    return lines


def is_absence_notice(text: str) -> bool:
    """Tell whether ``text`` is an out-of-office notice: short, no question, and its first
    sentence (after at most two greetings) says the writer is away."""
    block = "\n".join(_first_block(text)).strip()
    if not block or len(block) > MAX_CHARS:
        return False
    if sum(1 for line in block.split("\n") if line.strip()) > MAX_LINES:
        return False
    if "?" in block or "？" in block:
        return False
    norm = unicodedata.normalize("NFKC", block).replace("’", "'").lower()
    sentences = [s.strip() for s in _SENTENCE.split(norm) if s and s.strip()]
    for n, sentence in enumerate(sentences[:3]):
        if _GREETING.match(sentence) and n < 2:
            continue
        if _ABSENT_JA.search(sentence):
            return True
        return bool(_ABSENT_EN.match(sentence) and _RETURN_EN.search(sentence))
    return False
