"""Bounces: attribute a delivery failure (VERP return path or the report itself), classify it
as hard or soft, and count it (``hub.services.bounces`` holds the rule that stops mail).

Every mail we send has the envelope sender ``bounce+<token>@domain`` naming its outbox row, so a
bounce is attributed even when its report cannot be read. The relay refusing a mail at once
(``mailbridge.delivery``) is classified here too, by its reply, and counted by the same rule.

Hard: the receiving server says the address does not exist or is disabled (5.1.x but 5.1.7 and
5.1.8, which are about our sender; 5.2.1), or, with no specific code, a permanent failure in
words like "user unknown" / "550". Soft: everything else, namely 4.x.x (whatever its Action
says), a full mailbox or quota (X.2.2, and "over quota" in words, as flufl.bounce's reports of
Yahoo, qmail or PMDF put it), policy and spam refusals (5.7.x: about our mail or our relay, not
the address), a message too large, and anything flufl.bounce calls temporary. A delivery
report that reads as no failure at all (a vacation reply sent to the return path) is not a
bounce: it is ignored as the auto-reply it is.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email.message import Message
from email.policy import compat32

from hub import tokens
from hub.models import BounceRecord, OutboxMessage
from hub.services import bounces as service
from mailbridge import addresses
from mailbridge.context import InboundContext
from mailbridge.parse import Incoming

# An enhanced status code (RFC 3463), not part of an IP address or a version number.
_CODE = re.compile(r"(?<![\w.])[245]\.\d{1,3}\.\d{1,3}(?!\.?\d)")
# A basic SMTP reply code standing alone ("552 Message for <x> would exceed mailbox quota").
_REPLY = re.compile(r"(?<![\w.])[45]\d\d(?![\w.])")
# Words that make a permanent-looking failure soft: the mailbox exists but is full, or the mail
# (or our relay) was refused for what it is, not for whom it was sent to.
_SOFT_WORDS = re.compile(
    r"quota|mailbox (?:is )?full|full mailbox|storage|disk ?space|insufficient space|too large"
    r"|size limit|spam|block ?list|black ?list|blocked|reputation|policy|dmarc|\bspf\b|\bdkim\b"
    r"|容量|いっぱい|一杯|満杯|ポリシー|迷惑メール",
    re.I,
)
# Words saying the address itself is gone.
_GONE_WORDS = re.compile(
    r"user unknown|unknown (?:user|recipient|address|mailbox)|no such (?:user|mailbox|recipient"
    r"|address|account)|does(?: not|n't) exist|not exist|invalid (?:recipient|mailbox|address)"
    r"|mailbox (?:unavailable|not found|disabled)|account (?:is )?(?:disabled|inactive)"
    r"|recipient not found|address rejected|存在しません|宛先不明|見つかりません",
    re.I,
)
# A DSN recipient block whose Action says the mail got through (RFC 3464 §2.3.3).
_NOT_FAILED = frozenset({"delivered", "relayed", "expanded"})


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed recipient of a delivery report, or of the relay's reply."""

    address: str
    hard: bool
    status: str
    diagnostic: str


def status_code(*texts: str) -> str:
    """The most specific enhanced status code in ``texts``, read in order (a DSN's Status, then
    its Diagnostic-Code): "5.2.2"; a generic one ("5.0.0") only if no other; else ""."""
    generic = ""
    for text in texts:
        for found in _CODE.finditer(text):
            if not found.group().endswith(".0.0"):
                return found.group()
            generic = generic or found.group()
    return generic


def is_hard(code: str, words: str, *, permanent: bool) -> bool:
    """Tell whether a failure says the address does not exist or is disabled (module doc).

    ``code`` is its enhanced status code ("" if none), ``words`` what the server said, and
    ``permanent`` whether the report or reply called it permanent.
    """
    if code:
        klass, subject, detail = code.split(".")
        if klass != "5":
            return False
        if subject == "1":
            return detail not in ("7", "8")
        if (subject, detail) == ("2", "1"):
            return True
        if (subject, detail) == ("4", "1"):
            # Exchange Online refuses an address its directory does not hold with 5.4.1
            # ("Recipient address rejected: Access denied"): gone, though a routing code.
            return bool(_GONE_WORDS.search(words))
        if (subject, detail) != ("0", "0"):
            return False
    if _SOFT_WORDS.search(words):
        return False
    if _GONE_WORDS.search(words):
        return True
    reply = _REPLY.search(words)
    if reply is not None:
        return reply.group() in ("550", "551", "553")
    return permanent


def reply_failure(address: str, code: int, text: str) -> Failure:
    """Classify the relay's refusal of ``address`` with ``code`` and ``text``."""
    words = f"{code} {text}"
    found = status_code(text)
    return Failure(address.lower(), is_hard(found, words, permanent=code >= 500), found, words)


def _dsn_blocks(msg: Message) -> list[tuple[str, str, str, str]]:
    """Every recipient block of the message/delivery-status parts (RFC 3464): (address,
    action, status, diagnostic)."""
    blocks = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status" or not part.is_multipart():
            continue
        for block in part.get_payload():
            if not isinstance(block, Message):
                continue
            rcpt = str(block.get("final-recipient") or block.get("original-recipient") or "")
            address = rcpt.split(";", 1)[-1].strip().strip("<>").lower()
            if "@" not in address:
                continue
            blocks.append((
                address,
                str(block.get("action") or "").strip().lower(),
                " ".join(str(block.get("status") or "").split()),
                " ".join(str(block.get("diagnostic-code") or "").split()),
            ))  # fmt: skip
    return blocks


def report_failures(raw: bytes, incoming: Incoming) -> list[Failure]:
    """The failed recipients a report names, each classified: its DSN blocks, or else those
    flufl.bounce found (a non-DSN report, read in its words)."""
    try:
        msg = email.message_from_bytes(raw, policy=compat32)
        blocks = _dsn_blocks(msg)
    except Exception:  # noqa: BLE001 - an unreadable report is classified by its words alone
        blocks = []
    words = incoming.text[:20_000]
    found: dict[str, Failure] = {}
    for address, action, status, diagnostic in blocks:
        if action in _NOT_FAILED or status.startswith("2"):
            continue
        code = status_code(status, diagnostic)
        permanent = action == "failed" or status.startswith("5")
        said = f"{status} {diagnostic}".strip()
        # With no specific code the notification's words say more than "5.0.0".
        context = said if code and not code.endswith(".0.0") else f"{said}\n{words}"
        failure = Failure(address, is_hard(code, context, permanent=permanent), code, said)
        if address not in found or (failure.hard and not found[address].hard):
            found[address] = failure
    bounce = incoming.bounce
    # A DSN says who failed and why; flufl.bounce's other detectors, reading its words, would
    # only guess at addresses it names (in a forward, the original one).
    if bounce is not None and not blocks:
        for address in sorted(bounce.permanent | bounce.temporary):
            if address in found:
                continue
            permanent = address in bounce.permanent
            code = status_code(_about(words, address))
            hard = permanent and is_hard(code, words, permanent=True)
            found[address] = Failure(address, hard, code, _about(words, address))
    return list(found.values())


def _about(words: str, address: str) -> str:
    """The line of a report that names ``address`` (its reason is usually there or next)."""
    lines = words.splitlines()
    for n, line in enumerate(lines):
        if address in line.lower():
            return " ".join(" ".join(lines[n : n + 2]).split())[:500]
    return ""


def verp_rows(ctx: InboundContext) -> list[OutboxMessage]:
    """Return the outbox rows named by ``bounce+<token>@`` recipients of this message."""
    cfg = ctx.app.config
    keys = tokens.keys_from_config(cfg)
    rows = []
    for address in (*ctx.rcpts, *ctx.incoming.to):
        dest = addresses.decode(address, cfg["MAIL_DOMAIN"], keys)
        if dest is not None and dest.kind == "bounce" and dest.token is not None:
            row = ctx.session.get(OutboxMessage, dest.token.target_id)
            if row is not None and row not in rows:
                rows.append(row)
    return rows


def is_bounce(ctx: InboundContext) -> bool:
    """Tell whether the message is a delivery failure report: parsed as one, or sent to a VERP
    address and no auto-reply (a vacation notice sent to the return path reports nothing)."""
    if ctx.incoming.bounce is not None:
        return True
    if ctx.incoming.auto_reply:
        return False
    cfg = ctx.app.config
    return any(
        (d := addresses.decode(a, cfg["MAIL_DOMAIN"], tokens.keys_from_config(cfg))) is not None
        and d.kind == "bounce"
        for a in ctx.rcpts
    )


def record(ctx: InboundContext) -> list[BounceRecord]:
    """Write a BounceRecord per failed address, classified, and count it against its member."""
    failures = report_failures(ctx.row.raw, ctx.incoming)
    policy = service.Policy.from_config(ctx.app.config)
    records: list[BounceRecord] = []
    verp = verp_rows(ctx)
    for row in verp:
        # VERP names the address we sent to, whatever the report's Final-Recipient says.
        records.append(_add(ctx, _for_row(row, failures, ctx.incoming), row.id, policy))
    if not verp:
        for failure in failures:
            records.append(_add(ctx, failure, None, policy))
    return records


def _for_row(row: OutboxMessage, failures: list[Failure], incoming: Incoming) -> Failure:
    """The failure of the mail in ``row``: the report's about its address if any, else about
    any address (forwarded mail), hard first; a report we cannot read is soft."""
    mine = [f for f in failures if f.address == row.to_addr] or failures
    if not mine:
        return Failure(row.to_addr, False, "", f"(no readable report) {incoming.subject}")
    first = sorted(mine, key=lambda f: not f.hard)[0]
    return Failure(row.to_addr, first.hard, first.status, first.diagnostic)


def _add(
    ctx: InboundContext, failure: Failure, outbox_id: int | None, policy: service.Policy
) -> BounceRecord:
    return service.record_bounce(
        ctx.session,
        address=failure.address,
        hard=failure.hard,
        status=failure.status,
        diagnostic=failure.diagnostic,
        policy=policy,
        inbound_id=ctx.row.id,
        outbox_id=outbox_id,
    )
