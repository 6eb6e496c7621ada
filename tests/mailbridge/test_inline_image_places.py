"""mailbridge.inline_images: where a mail shows each inline image (the words around it), and
putting it there in a post's text (table-driven); what stays a file; linear time."""

from __future__ import annotations

import doctest
import time
from email.message import EmailMessage, Message

import pytest

from hub import plaintext
from hub.services import attachments, search
from mailbridge import inline_images
from mailbridge.htmltext import html_to_text
from mailbridge.inline_images import in_place, places

IMG = "![a.png](/attachments/1/a.png)"
IMG2 = "![b.png](/attachments/2/b.png)"


def _text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def _mixed(*items: str | bytes) -> EmailMessage:
    """multipart/mixed of text parts (str) and inline PNGs (bytes), in order."""
    msg = EmailMessage()
    msg.make_mixed()
    for item in items:
        part = EmailMessage()
        if isinstance(item, str):
            part.set_content(item)
        else:
            part.set_content(item, maintype="image", subtype="png", disposition="inline",
                             filename="a.png")  # fmt: skip
        msg.attach(part)
    return msg


def test_places_of_images_between_text_parts() -> None:
    msg = _mixed("写真です。\n", b"1", "右が問題です。\n以上\n", b"2")
    first, second = [p for p in msg.iter_parts() if p.get_content_maintype() == "image"]
    found = places(msg, _text_of)
    assert found[first] == ("写真です", "右が問題です以上")
    assert found[second] == ("写真です右が問題です以上", "")


def test_an_image_alone_has_no_place() -> None:
    msg = _mixed(b"1")
    assert places(msg, _text_of) == {}


def test_the_html_rendition_places_the_images_it_names() -> None:
    msg = EmailMessage()
    msg.set_content("上\n\n下\n")
    msg.add_alternative('<p>上</p><p><img src="cid:x1"></p><p>下</p>', subtype="html")
    found = places(msg, lambda part: html_to_text(part.get_content()))
    assert found == {"x1": ("上", "下")}


@pytest.mark.parametrize(
    ("text", "images", "expected"),
    [
        pytest.param(
            "上の行\n下の行",
            [(("上の行", "下の行"), IMG)],
            f"上の行\n{IMG}\n下の行",
            id="between-lines",
        ),  # fmt: skip
        pytest.param(
            "見てください\n\n> 差出人: 鈴木\n>\n> 上の行\n> 下の行",
            [(("上の行", "下の行"), IMG)],
            f"見てください\n\n> 差出人: 鈴木\n>\n> 上の行\n> {IMG}\n> 下の行",
            id="in-a-forwards-quote",
        ),
        pytest.param(
            "上\n下",
            [(("上", "下"), IMG), (("上", "下"), IMG2)],
            f"上\n{IMG}\n{IMG2}\n下",
            id="two-in-a-row-in-order",
        ),
        pytest.param("上\n下", [(("", "上下"), IMG)], f"{IMG}\n上\n下", id="first-thing"),
        pytest.param(
            "上\n下",
            [(("上下", "iPhoneから送信"), IMG)],
            f"上\n下\n{IMG}",
            id="last-thing-signature-trimmed",
        ),
        pytest.param(
            "上\n[image: a.png]\n下",
            [(("上", "下"), IMG)],
            f"上\n{IMG}\n下",
            id="gmail-mark-replaced",
        ),
        pytest.param(
            "了解です。\n\nよろしくお願いします。",
            [(("古いメールの本文よろしくお願いします", "株式会社"), IMG)],
            "了解です。\n\nよろしくお願いします。",
            id="in-the-trimmed-quote-not-placed",
        ),
        pytest.param("上\n下", [(("上", "別"), IMG)], "上\n下", id="words-differ-not-placed"),
        pytest.param("", [(("上", "下"), IMG)], "", id="no-text"),
    ],
)
def test_in_place(text: str, images: list[tuple[inline_images.Place, str]], expected: str) -> None:
    assert in_place(text, images) == expected


def test_resolved_points_cid_at_stored_files_and_drops_the_rest() -> None:
    text = "上\n![](cid:ok)\n[cid:ok]\n![x](cid:refused)\n[image: b.png]\n下"
    assert inline_images.resolved(text, {"ok": IMG}) == f"上\n{IMG}\n{IMG}\n\n[image: b.png]\n下"


@pytest.mark.parametrize(
    ("text", "images"),
    [
        pytest.param(
            "この行は本文です。\n" * 100_000 + "最後の行\n" + "> ![x](cid:y) [image: z]\n" * 10_000,
            [(("この行は本文です", "この行は本文です"), IMG)] * 50 + [(("最後の行", ""), IMG2)],
            id="long-text",
        ),
        pytest.param(
            "a" * 1_000_000, [(("a" * 32, "b" * 32), IMG)] * 50, id="words-almost-everywhere"
        ),
    ],
)
def test_in_place_is_linear(text: str, images: list[tuple[inline_images.Place, str]]) -> None:
    start = time.perf_counter()
    in_place(text, images)
    elapsed = time.perf_counter() - start
    print(f"in_place on {len(text):,} chars, {len(images)} images: {elapsed:.3f}s")
    assert elapsed < 5  # A hang guard only; the target is well under 1 s.


def test_doctests() -> None:
    assert doctest.testmod(attachments).failed == 0
    assert doctest.testmod(plaintext).failed == 0
    assert doctest.testmod(search).failed == 0
