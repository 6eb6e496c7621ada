"""Sender authentication: SENDER_AUTH off, monitor (record) or enforce (hold failures).

Behind the company's own mail server (IMAP mode) we trust an Authentication-Results header only
when its authserv-id is TRUSTED_AUTHSERV_ID; anyone can write such a header, so all others are
ignored. Facing senders directly (SMTP mode, no trusted id) we verify the DKIM signature with
dkimpy and require its domain to be the From address's domain (or a parent of it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

import authres
import dkim

from mailbridge.context import InboundContext

log = logging.getLogger(__name__)

# The DNS TXT lookup dkimpy uses; tests replace it with a dictionary of published keys.
DNS_LOOKUP: Callable[..., Any] | None = None


def check(ctx: InboundContext) -> str | None:
    """Judge the sender under the configured policy: None (off), "pass", "monitor" or "held"."""
    policy = str(ctx.app.config.get("SENDER_AUTH") or "off").lower()
    if policy not in ("monitor", "enforce"):
        return None
    result, detail = evaluate(ctx.row.raw, ctx.incoming.sender, ctx.app.config)
    # Kept with the message's results, so the mail log shows it (monitor mode's whole point).
    ctx.row.results = [*(ctx.row.results or []), {"auth": f"{result}: {detail}"[:200]}]
    if result == "pass":
        return "pass"
    log.info("sender authentication %s for %s: %s", result, ctx.incoming.sender, detail)
    return "held" if policy == "enforce" else "monitor"


def _aligned(domain: str, sender_domain: str) -> bool:
    domain, sender_domain = domain.lower().lstrip("@"), sender_domain.lower()
    return bool(domain) and (sender_domain == domain or sender_domain.endswith("." + domain))


def evaluate(raw: bytes, sender: str, config: Any) -> tuple[str, str]:
    """Return ("pass" | "fail", detail) for the message's sender."""
    sender_domain = sender.rpartition("@")[2]
    if not sender_domain:
        return "fail", "no sender address"
    trusted = str(config.get("TRUSTED_AUTHSERV_ID") or "").strip().lower()
    if trusted:
        return from_authentication_results(raw, sender_domain, trusted)
    return from_dkim(raw, sender_domain)


def from_authentication_results(raw: bytes, sender_domain: str, trusted: str) -> tuple[str, str]:
    """Read the Authentication-Results headers our own MTA added (RFC 8601)."""
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    except Exception:  # noqa: BLE001
        return "fail", "unreadable headers"
    seen = False
    for value in headers.get_all("Authentication-Results") or []:
        try:
            parsed = authres.parse("Authentication-Results: " + " ".join(str(value).split()))
        except Exception:  # noqa: BLE001 - authres.SyntaxError and friends
            continue
        if str(parsed.authserv_id).lower() != trusted:
            continue
        seen = True
        for res in parsed.results:
            props = {p.name: str(p.value) for p in res.properties}
            if res.method == "dmarc" and res.result == "pass":
                return "pass", f"dmarc=pass by {trusted}"
            domain = props.get("d") or props.get("i", "").rpartition("@")[2]
            if res.method == "dkim" and res.result == "pass" and _aligned(domain, sender_domain):
                return "pass", f"dkim=pass d={domain} by {trusted}"
    return "fail", "no passing result" if seen else f"no Authentication-Results by {trusted}"


def from_dkim(raw: bytes, sender_domain: str) -> tuple[str, str]:
    """Verify the first DKIM signature and its alignment with the From domain."""
    kwargs: dict[str, Any] = {}
    if DNS_LOOKUP is not None:
        kwargs["dnsfunc"] = DNS_LOOKUP
    try:
        verifier = dkim.DKIM(raw, timeout=5)
        ok = verifier.verify(**kwargs)
    except Exception as exc:  # noqa: BLE001 - dkimpy raises on malformed signatures
        return "fail", f"dkim error: {type(exc).__name__}"
    if not ok:
        return "fail", "dkim=fail" if b"dkim-signature:" in raw.lower() else "no DKIM signature"
    domain = (verifier.domain or b"").decode("ascii", "replace")
    if not _aligned(domain, sender_domain):
        return "fail", f"dkim=pass but d={domain} is not the sender's domain"
    return "pass", f"dkim=pass d={domain}"
