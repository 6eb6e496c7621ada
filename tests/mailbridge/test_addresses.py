"""Our addresses: channels, reply tokens (case-folding MTAs, rotation, forgery), fixed names."""

from __future__ import annotations

import doctest

import pytest

from hub import tokens
from mailbridge import addresses

KEYS = ["new-key", "old-key"]


def test_doctests() -> None:
    assert doctest.testmod(addresses).failed == 0


@pytest.mark.parametrize(
    ("address", "kind", "slug"),
    [
        ("general@hub.test", "channel", "general"),
        ("<General@HUB.test>", "channel", "general"),
        ("help@hub.test", "help", None),
        ("thanks@hub.test", "thanks", None),
        ("sales.jp@hub.test", "channel", "sales.jp"),
    ],
)
def test_fixed_and_channel_addresses(address: str, kind: str, slug: str | None) -> None:
    dest = addresses.decode(address, "hub.test", KEYS)
    assert dest is not None and (dest.kind, dest.slug) == (kind, slug)


@pytest.mark.parametrize(
    "address",
    ["x@other.test", "reply+@hub.test", "reply+zzzz@hub.test", "@hub.test", "a b@hub.test", ""],
)
def test_not_ours(address: str) -> None:
    assert addresses.decode(address, "hub.test", KEYS) is None


def test_reply_token_survives_case_folding_and_rotation() -> None:
    old = addresses.encode("reply", 7, 42, "hub.test", ["old-key"])
    dest = addresses.decode(old.upper(), "hub.test", KEYS)
    assert dest is not None and dest.token == tokens.Token("reply", 7, 42)
    assert addresses.decode(old, "hub.test", ["new-key"]) is None  # retired key


def test_token_kind_must_match_prefix() -> None:
    digest = addresses.encode("digest", 7, 42, "hub.test", KEYS)
    swapped = digest.replace("digest+", "reply+")
    assert addresses.decode(swapped, "hub.test", KEYS) is None


def test_lost_token_addresses_are_reserved_channel_names() -> None:
    """reply@ and hiroba@ take replies whose +token was lost; no channel can be named so."""
    from hub.services.channel_creation import RESERVED

    assert addresses.LOST <= RESERVED
    assert addresses.decode("welcome@hub.test", "hub.test", ["k"]).kind == "channel"
