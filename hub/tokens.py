"""Signed, compact tokens that bind a member to a target (reply addresses, links in mail).

A token fits a mail local part: lower-case base32, no padding, so MTAs that fold case keep it
valid. It carries a kind, a member id and a target id, signed with HMAC-SHA256 under the current
secret key; older keys (OLD_SECRET_KEYS) still verify, so keys can be rotated.

>>> t = make("reply", 7, 42, ["k1"])
>>> read(t, ["k1"])
Token(kind='reply', user_id=7, target_id=42)
>>> read(t, ["k2", "k1"]).target_id
42
>>> read(t[:-1] + ("a" if t[-1] != "a" else "b"), ["k1"]) is None
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from itsdangerous import URLSafeSerializer

KINDS = {
    "reply": 1,  # reply+<token>@: a reply in thread <target>
    "digest": 2,  # digest+<token>@: a reply to the digest run <target>
    "ack": 3,  # ack+<token>@: acknowledges announcement <target>
    "prefs": 4,  # the footer link: delivery preferences without sign-in
    "unsubscribe": 5,  # List-Unsubscribe for channel <target> (0 = all mail, DIGEST = the digest)
    "bounce": 6,  # VERP return path for outbox row <target>
    "flag": 7,  # flag post <target> from a mail link
    "ack_link": 8,  # acknowledge announcement <target> from a link (confirm page)
    "which": 9,  # the answer to a "which thread?" question about pending reply <target>
    "welcome": 10,  # reply to the welcome mail: accepts the rules
    "thanks_value": 11,  # choose the value of thanks card <target> from a link
    "rules": 12,  # reply to "the rules were updated": accepts version <target> of the rules
}
_NAMES = {v: k for k, v in KINDS.items()}
# The target of a digest's List-Unsubscribe: the digest only (no channel has this id).
DIGEST = 0xFFFFFFFF
_SIG_BYTES = 10


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    user_id: int
    target_id: int


# Every pair of lower-case base32 digits, by the 10 bits they stand for.
_PAIRS = [
    a + b for a in "abcdefghijklmnopqrstuvwxyz234567" for b in "abcdefghijklmnopqrstuvwxyz234567"
]


def _b32(data: bytes) -> str:
    """``base64.b32encode(data)`` in lower case without padding, ten bits at a time.

    >>> all(_b32(bytes(range(n))) == base64.b32encode(bytes(range(n))).decode().rstrip("=").lower()
    ...     for n in range(40))
    True
    """
    size = len(data)
    whole = -(-size // 5) * 5
    value = int.from_bytes(data, "big") << (8 * (whole - size))
    pairs = [_PAIRS[(value >> shift) & 1023] for shift in range(8 * whole - 10, -1, -10)]
    return "".join(pairs)[: -(-size * 8 // 5)]


def _unb32(text: str) -> bytes:
    text = text.upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


# Per key: the HMAC state after the fixed prefix (copied for each token, same result).
_MACS: dict[str, hmac.HMAC] = {}


def _sign(key: str, payload: bytes) -> bytes:
    base = _MACS.get(key)
    if base is None:
        base = hmac.new(key.encode(), b"hiroba-token\x00", hashlib.sha256)
        if len(_MACS) < 64:
            _MACS[key] = base
    mac = base.copy()
    mac.update(payload)
    return mac.digest()[:_SIG_BYTES]


def make(kind: str, user_id: int, target_id: int, keys: Sequence[str]) -> str:
    """Sign (kind, user_id, target_id) with the newest key."""
    payload = struct.pack(">BII", KINDS[kind], user_id, target_id)
    return _b32(payload + _sign(keys[0], payload))


def read(token: str, keys: Sequence[str]) -> Token | None:
    """Return the Token if ``token`` was signed by any of ``keys``, else None."""
    try:
        raw = _unb32(token.strip())
    except (ValueError, TypeError):
        return None
    if len(raw) != 9 + _SIG_BYTES:
        return None
    payload, sig = raw[:9], raw[9:]
    if not any(hmac.compare_digest(sig, _sign(k, payload)) for k in keys if k):
        return None
    kind, user_id, target_id = struct.unpack(">BII", payload)
    if kind not in _NAMES:
        return None
    return Token(_NAMES[kind], user_id, target_id)


def prefs_token(config: dict[str, object], user_id: int) -> str:
    """The token of a member's signed preferences page (every mail's footer links it)."""
    return make("prefs", user_id, 0, keys_from_config(config))


def keys_from_config(config: dict[str, object]) -> list[str]:
    """Return [SECRET_KEY, *OLD_SECRET_KEYS] from an app config."""
    old = str(config.get("OLD_SECRET_KEYS") or "")
    return [str(config["SECRET_KEY"])] + [k.strip() for k in old.split(",") if k.strip()]


def attachment_signer(config: dict[str, object]) -> URLSafeSerializer:
    """The signer of attachment links in mail (``/mail/file/<signed>/<name>``).

    It signs with SECRET_KEY and still verifies links signed with any of OLD_SECRET_KEYS, so
    links in older mail keep working after a key rotation. (itsdangerous signs with the *last*
    key of its list and tries every key when verifying.)
    """
    return URLSafeSerializer(keys_from_config(config)[::-1], salt="hiroba-attachment")
