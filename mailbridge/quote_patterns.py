"""Regex tables and cheap line tests for the reply stripper (kept apart from the algorithm)."""

from __future__ import annotations

import re

# Lines longer than this are never markers: keeps every regex below bounded (linear time).
PROBE = 600

REPLY_MARKER = re.compile(r"##-\s*(?:この行より上に返信してください|Please reply above this line)")
QUOTE = re.compile(r"[ \t]*(?:>|[A-Z]{1,3}>)")
FENCE = re.compile(r"[ \t]*(?:```|~~~)")

_ON = r"(?:On|At|Op|Le|Am|Il|Dnia|Dňa|Em|El|Den|søn\.|W dniu)"
_VERB = (
    r"(?:wrote|writes|says|said|het volgende geschreven|schreef|a\s+écrit|nous a dit|schrieb"
    r"|geschrieben|schrieben Sie|ha scritto|napisał(?:\(a\))?|escreveu|escribió|skrev)"
)
# Attribution lines, after the per-language tables of email_reply_trimmer and mail-parser-reply.
ATTRIBUTION = re.compile(
    "|".join(
        (
            rf"[ \t>-]*{_ON}\s(?=[^\n]*\d).{{1,300}}?\b{_VERB}(?:[ \t.:>-]*|\s.{{1,200}}[:：])",
            r".{0,40}\d{4}.{1,160}?(?:пользователь.{0,120}?)?(?:написал[аи]?|napisał(?:\(a\))?|пише)"
            r"\s*[:：]",
            r".{1,200}\b(?:wrote|schrieb)\s+(?:on|am)\b.{1,200}[:：]",
            r"[ \t>]*20\d\d-\d\d-\d\d \d\d?:\d\d GMT[+-]\d\d:\d\d .{1,200}",
            r".{0,30}\d{4}\D.{0,160}<[^@<>\s]+@[^@<>\s]+\.[^@<>\s]+>[:：]?",
            r".{1,150} via .{1,150} (?:wrote|schrieb):?\s*",
            r".{0,150}\b[\w.+-]+@[\w.-]+\.\w{2,}\b.{0,100}\bwrote:?",
            r"[ \t>]*Posted by .{1,100} on \d\d/\d\d/\d{4}",
            # Gmail ja: 2026年11月27日(金) 10:00 山田太郎 <taro@example.jp>:
            r"\d{4}年\d{1,2}月\d{1,2}日\s*[(（][^)）]{1,3}[)）]\s*\d{1,2}:\d{2}.{0,200}[:：]",
            # Apple Mail ja: 2026/11/27 10:00、山田太郎 <taro@example.jp>のメール:
            r".{0,40}\d{4}/\d{1,2}/\d{1,2}.{0,160}(?:のメール|のメッセージ)\s*[:：]",
            # Thunderbird ja: 2026/11/27 10:00 に 山田太郎 さんは書きました:
            r".{0,200}(?:さんは|が)書きました\s*[:：]",
        )
    )
    + r"\s*",
    re.I,
)
# Shapes that count only when a quoted block follows ("Taro wrote:").
WEAK_ATTRIBUTION = re.compile(r".{1,120}(?:\bwrote|\bschrieb|a écrit|書きました)\s*[:：]\s*")
# Every attribution ends like one of these: a cheap string test before the regex alternation.
TAIL_WORDS = (
    "wrote", "writes", "says", "said", "geschreven", "schreef", "écrit", "dit", "schrieb",
    "sie", "scritto", "napisał", "(a)", "escreveu", "escribió", "skrev",
)  # fmt: skip


def tail_ok(line: str) -> bool:
    """Tell whether ``line`` ends the way some attribution ends."""
    raw = line[-80:].rstrip().lower()
    s = raw.rstrip(" \t.>-")
    return (
        s.endswith((":", "：", *TAIL_WORDS))
        or ("gmt" in s and s[:4].isdigit())
        or (raw.endswith(">") and "@" in s)
        or (s[-4:].isdigit() and s[-5:-4] == "/")
    )


def sentence_end(part: str) -> bool:
    """Tell whether a line ends a sentence, so an attribution cannot continue after it."""
    return part.endswith(("。", "！", "？", "!", "?")) or (
        part.endswith(".") and part[-5:-1].isalpha()
    )


STRONG_START = re.compile(rf"[ \t>-]*{_ON}\s.{{0,80}}\d")
ATTRIBUTION_START = re.compile(rf"[ \t>-]*(?:{_ON}\s|.{{0,40}}\d|.*(?:<|@| via |wrote|schrieb))")

_FROM = r"From|Von|De|Da|Van|Fra|Från|Od|От|Від|差出人|送信者|送信元|发件人|寄件者"
_HDR = (
    _FROM + r"|Sent|Date|To|Cc|Bcc|Subject|Reply-To|Gesendet|An|Betreff|Datum|Envoyé|Objet|À"
    r"|Para|Asunto|Enviado|Fecha|Assunto|Enviada em|Data|A|Oggetto|Risposta|Aan|Onderwerp"
    r"|Verzonden|Sendt|Til|Emne|Skickat|Till|Ämne|送信日時|送信日|日時|日付|宛先|件名|CC|收件人|主题|发送时间"
)
FROM_LINE = re.compile(rf"[ \t*]*(?:{_FROM})[ \t*]*[:：]", re.I)
HDR_LINE = re.compile(rf"[ \t*]*(?:{_HDR})[ \t*]*[:：]", re.I)
# A field label inside a line: Outlook's header read from HTML with no breaks kept reads
# "**From:** a **Sent:** b **To:** c" on one line.
HDR_INLINE = re.compile(rf"\s[*]*(?:{_HDR})[ \t*]*[:：]", re.I)
SEPARATOR = re.compile(
    r"[ \t*]*(?:_{10,}|-{2,}[ \t]*(?:(?:Original|Forwarded|Reply)[ \t]+Message|Ursprüngliche"
    r" Nachricht|Mensaje original|Message transféré|原始邮件|元のメッセージ|転送メッセージ"
    r"|転送されたメッセージ|Forwarded message)[ \t]*-*|Begin forwarded message:|Début du message"
    r" transféré ?:|Anfang der weitergeleiteten Nachricht:|転送されたメッセージ:)[ \t*]*",
    re.I,
)
SIG_DELIM = re.compile(r"[ \t]*(?:--|-{3,}|—|_{3,}|={3,}|━{3,}|─{3,}|ᐧ|\*{3,}|~{3,}|\+{3,})[ \t]*")
MOBILE = re.compile(
    r"[ \t]*(?:[(<]*Sent (?:from|via|by) .{1,70}|Sent with (?:Airmail|Spark|Proton.{0,20}"
    r"|BlackBerry.{0,20}|.{0,20}\bMail\b.{0,20})|\w+ from mobile|From my (?:iphone|ipad|android"
    r"|mobile|phone|samsung|galaxy|blackberry).{0,20}|Get Outlook for .{1,60}|Envoyé depuis .{1,40}"
    r"|Von meinem .{1,60} gesendet\.?|Diese Nachricht wurde von .{1,120} gesendet\.?"
    r"|Inviato da .{1,40}|Sendt fra min .{1,40}|Enviado do meu .{1,40}|Enviado desde mi .{1,40}"
    r"|Verzonden met .{1,40}|Verstuurd vanaf mijn "
    r".{1,40}|Skickat från min .{1,40}|從我的 iPhone 傳送"
    r"|(?:私の)?\s*(?:iPhone|iPad|Android|Galaxy|Xperia|AQUOS|arrows|スマートフォン|携帯)\s*から送信"
    r"|Outlook for (?:iOS|Android) ?を入手)[)>.]*[ \t]*",
    re.I,
)
MD_LINK = re.compile(r"\[([^\]\n]{1,200})\]\([^)\n]{1,500}\)")

# One-word replies that stand for a reaction.
REACTION_WORDS = {
    "+1": "👍",
    "-1": "👎",
    "like": "👍",
    "いいね": "👍",
    "いいね!": "👍",
    "good": "👍",
    "了解": "👍",
    "thanks": "🙏",
    "ありがとう": "🙏",
    "<3": "❤️",
}
SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff]")


def is_emoji_char(ch: str) -> bool:
    """Tell whether ``ch`` is part of an emoji (pictographs, dingbats, joiners, arrows)."""
    o = ord(ch)
    return (
        0x1F000 <= o <= 0x1FAFF
        or 0x2600 <= o <= 0x27BF
        or o in (0x200D, 0xFE0F, 0x2764, 0x2B50, 0x2B55)
        or 0x2190 <= o <= 0x21FF
    )
