"""Bounces: attribute a delivery failure (VERP return path or the report itself) and count it.

Every mail we send has the envelope sender ``bounce+<token>@domain`` naming its outbox row, so a
bounce is attributed even when its report cannot be read. Permanent failures are counted per
address; over BOUNCE_THRESHOLD the member is marked ``bouncing`` and gets no more mail (admins
see the flag in the member list and the ``member_bouncing`` event).
"""

from __future__ import annotations

from sqlalchemy import func, select

from hub import tokens
from hub.models import BounceRecord, OutboxMessage, User
from hub.services import events
from mailbridge import addresses
from mailbridge.context import InboundContext


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
    """Tell whether the message is a delivery failure report (parsed, or sent to a VERP address)."""
    if ctx.incoming.bounce is not None:
        return True
    cfg = ctx.app.config
    return any(
        (d := addresses.decode(a, cfg["MAIL_DOMAIN"], tokens.keys_from_config(cfg))) is not None
        and d.kind == "bounce"
        for a in ctx.rcpts
    )


def record(ctx: InboundContext) -> list[BounceRecord]:
    """Write a BounceRecord per failed address and count the permanent ones."""
    report = ctx.incoming.bounce
    permanent = set(report.permanent) if report else set()
    temporary = set(report.temporary) - permanent if report else set()
    records: list[BounceRecord] = []
    verp = verp_rows(ctx)
    if verp:
        # VERP names the address we sent to, whatever the report's Final-Recipient says.
        hard = bool(permanent) or not temporary
        for row in verp:
            records.append(_add(ctx, row.to_addr, hard, row.id))
    else:
        for address in sorted(permanent):
            records.append(_add(ctx, address, True, None))
        for address in sorted(temporary):
            records.append(_add(ctx, address, False, None))
    return records


def _add(ctx: InboundContext, address: str, permanent: bool, outbox_id: int | None) -> BounceRecord:
    session = ctx.session
    rec = BounceRecord(
        address=address.lower()[:320],
        permanent=permanent,
        inbound_id=ctx.row.id,
        outbox_id=outbox_id,
    )
    session.add(rec)
    session.flush()
    if permanent:
        count_bounce(ctx, address)
    return rec


def count_bounce(ctx: InboundContext, address: str) -> None:
    """Count a hard bounce for the member at ``address``; over the threshold stop their mail."""
    session = ctx.session
    user = session.scalar(select(User).where(User.email == address.lower()))
    if user is None:
        return
    user.bounce_count = (user.bounce_count or 0) + 1
    threshold = int(ctx.app.config["BOUNCE_THRESHOLD"])
    if user.bounce_count >= threshold and not user.bouncing:
        user.bouncing = True
        events.emit(session, "member_bouncing", subject_id=user.id, address=user.email)


def bounce_count(session: object, address: str) -> int:
    """How many hard bounces are recorded for ``address``."""
    stmt = select(func.count()).where(
        BounceRecord.address == address.lower(), BounceRecord.permanent.is_(True)
    )
    return int(session.scalar(stmt) or 0)  # type: ignore[attr-defined]
