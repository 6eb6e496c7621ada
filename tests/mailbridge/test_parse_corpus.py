"""Real mail corpora (tests/corpus/MANIFEST.txt) driven through parse() and strip_reply()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailbridge.htmltext import html_to_text, strip_html_quote
from mailbridge.parse import parse
from mailbridge.quotes import strip_reply

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
MAIL_FILES = sorted(
    p
    for p in CORPUS.rglob("*")
    if p.is_file()
    and (p.suffix == ".eml" or "flufl_bounce" in p.parts or "cpython_test_email" in p.parts)
)
TRIMMER = CORPUS / "email_reply_trimmer" / "test"
DISCOURSE = CORPUS / "discourse_2020"
EXPECTED = json.loads((DISCOURSE / "EXPECTED.json").read_text())


@pytest.mark.parametrize("path", MAIL_FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_corpus_mail_parses_and_strips(path: Path) -> None:
    incoming = parse(path.read_bytes())
    stripped = strip_reply(incoming.text)
    assert stripped.text or not incoming.text.strip()


def test_corpus_is_all_there() -> None:
    assert len(MAIL_FILES) > 250


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).strip("\n")


# Where we rightly differ from email_reply_trimmer:
# - spam_1: the mail is nothing but quotes. The trimmer returns "", we never strip everything
#   (an empty post would lose the message), so the whole text is kept and flagged kept_whole.
DIFFERENT = {"spam_1.txt"}


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (TRIMMER / "emails").glob("*.txt") if p.name not in DIFFERENT)
)
def test_email_reply_trimmer_expectations(name: str) -> None:
    text = (TRIMMER / "emails" / name).read_text()
    expected = (TRIMMER / "trimmed" / name).read_text()
    assert _norm(strip_reply(text).text) == _norm(expected)


def test_quote_only_spam_is_kept_whole_not_emptied() -> None:
    result = strip_reply((TRIMMER / "emails" / "spam_1.txt").read_text())
    assert result.kept_whole and result.text.startswith("> On Thu, Apr 30, 2020")


# EXPECTED.json entries whose "raw" text is what parse + strip_reply must produce.
# Entries about routing, permissions, spam, dates, likes and commands (reject, drop by sender,
# staged users, mute, unsubscribe ...) are the pipeline's to test, not the parser's.
RAW_KEYS = ("raw", "raw_prefer_text", "raw_body", "raw_2020")
TEXT_CASES = sorted(n for n, e in EXPECTED.items() if any(k in e for k in RAW_KEYS))


@pytest.mark.parametrize("name", TEXT_CASES)
def test_discourse_reply_texts(name: str) -> None:
    entry = EXPECTED[name]
    raw = next(entry[k] for k in RAW_KEYS if k in entry)
    assert strip_reply(parse((DISCOURSE / name).read_bytes()).text).text == raw


def test_discourse_html_elided_part_is_in_the_trimmed_html() -> None:
    incoming = parse((DISCOURSE / "gmail_html_reply.eml").read_bytes())
    assert incoming.html is not None
    kept, trimmed = strip_html_quote(incoming.html)
    assert html_to_text(kept) == EXPECTED["gmail_html_reply.eml"]["raw_body"]
    assert EXPECTED["gmail_html_reply.eml"]["elided"] in html_to_text(trimmed)


def test_discourse_original_message_is_trimmed() -> None:
    result = strip_reply(parse((DISCOURSE / "original_message.eml").read_bytes()).text)
    assert result.trimmed == EXPECTED["original_message.eml"]["elided"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("auto_generated_header.eml", "auto-submitted: auto-generated"),
        ("auto_generated_precedence.eml", "precedence: list"),
        ("text_reply.eml", None),
    ],
)
def test_discourse_auto_generated(name: str, reason: str | None) -> None:
    # The allow-listed/unblocked variants are flagged too: letting them through is a rule's call.
    assert parse((DISCOURSE / name).read_bytes()).auto_reply == reason


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e["outcome"] == "bounce"))
def test_discourse_bounces(name: str) -> None:
    bounce = parse((DISCOURSE / name).read_bytes()).bounce
    assert bounce is not None
    assert bounce.permanent or bounce.temporary


def test_discourse_header_repairs() -> None:
    assert parse((DISCOURSE / "null_byte_in_subject.eml").read_bytes()).subject == "testing"
    broken = parse((DISCOURSE / "unparsable_email_addresses.eml").read_bytes())
    assert broken.to == ("foo@bar.com",)
    assert broken.cc == ("bob@example.com", "carol@example.com")
    named = parse((DISCOURSE / "encoded_display_name.eml").read_bytes())
    assert (named.subject, named.sender_name) == ("I need help", "Случайная Имя")
    assert parse((DISCOURSE / "missing_message_id.eml").read_bytes()).message_id is None
    assert parse((DISCOURSE / "no_from.eml").read_bytes()).sender == ""
