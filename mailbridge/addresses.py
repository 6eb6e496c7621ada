"""Encode and decode our addresses: channels, reply tokens and command addresses (pure functions).

>>> keys = ["k"]
>>> decode("General@Hub.Test", "hub.test", keys)
Destination(kind='channel', slug='general', token=None)
>>> decode("help@hub.test", "hub.test", keys).kind
'help'
>>> a = encode("reply", 3, 9, "hub.test", keys)
>>> a.startswith("reply+") and decode(a.upper(), "hub.test", keys).token.target_id
9
>>> decode("reply+forged@hub.test", "hub.test", keys) is None
True
>>> decode("reply@hub.test", "hub.test", keys).kind
'lost'
>>> decode("digest@hub.test", "hub.test", keys).kind
'lost'
>>> decode("someone@elsewhere.test", "hub.test", keys) is None
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from hub import tokens

# Local-part prefix of each token-carrying address, and the token kind it must hold.
TOKEN_PREFIXES = {
    "reply": "reply",
    "digest": "digest",
    "ack": "ack",
    "bounce": "bounce",
    "which": "which",
    "welcome": "welcome",
    # The answer to "the rules were updated" (the member and the version of the rules).
    "rules": "rules",
    # The answer to "which value does your thanks card show?" (the card's sender and id).
    "thanks": "thanks_value",
}
# Fixed addresses that are not channels.
FIXED = {"help": "help", "thanks": "thanks", "postmaster": "help"}
# Where a reply goes when its client (or a mail server) dropped the +token ("reply@",
# "digest@"), or when it was sent to our From address ("hiroba@"): accepted, then threaded by
# the mails it answers. Only names no channel may take (hub.services.channel_creation.RESERVED):
# "welcome@" may be a channel.
LOST = frozenset({"reply", "digest", "ack", "hiroba"})
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a recipient address leads: kind is channel, reply, digest, ack, bounce, which,
    welcome, rules, thanks_value, help, thanks, or lost (see ``LOST``)."""

    kind: str
    slug: str | None = None
    token: tokens.Token | None = None


def split(address: str) -> tuple[str, str]:
    """Split an address into (local part, domain), lower-cased, without angle brackets."""
    addr = address.strip().strip("<>").lower()
    local, _, domain = addr.rpartition("@")
    return local, domain


def decode(address: str, domain: str, keys: Sequence[str]) -> Destination | None:
    """Return where ``address`` leads, or None if it is not one of ours or its token is forged."""
    local, dom = split(address)
    if dom != domain.lower() or not local:
        return None
    prefix, plus, rest = local.partition("+")
    if plus:
        kind = TOKEN_PREFIXES.get(prefix)
        token = tokens.read(rest, keys) if kind else None
        if token is None or token.kind != kind:
            return None
        return Destination(kind, token=token)
    if local in FIXED:
        return Destination(FIXED[local])
    if local in LOST:
        return Destination("lost")
    if SLUG.match(local):
        return Destination("channel", slug=local)
    return None


def encode(kind: str, user_id: int, target_id: int, domain: str, keys: Sequence[str]) -> str:
    """Return the address ``<kind>+<token>@domain`` for a member and a target (the token is
    of the kind ``TOKEN_PREFIXES`` names for that prefix)."""
    token = tokens.make(TOKEN_PREFIXES.get(kind, kind), user_id, target_id, keys)
    return f"{kind}+{token}@{domain}"


def channel_address(slug: str, domain: str) -> str:
    return f"{slug}@{domain}"
