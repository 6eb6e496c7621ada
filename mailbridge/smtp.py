"""The SMTP intake: aiosmtpd with early refusal at RCPT and the pipeline run at DATA.

Strangers and forged tokens are refused at RCPT (``550 5.1.1``), so nothing bounces back to a
forged sender. DATA stores the message and runs ``ingest.receive`` off the event loop; ``250`` is
said only after the raw message is committed. Any internal error or database outage answers
``451 4.3.0``, never aiosmtpd's default 500, so the sending server retries and nothing is lost.
A message to several of our addresses is handled once per address: when some are refused (a
private channel closed to the sender) and others taken, DATA answers 250 and the member is told
about the refused ones by mail; only when every one is refused is the refusal answered as for
a single address.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from hub import tokens
from hub.db import engine_of, reading
from hub.errors import Reason
from hub.models import ChannelStatus, User
from hub.services import channels
from mailbridge import addresses, ingest, replies
from mailbridge.addresses import Destination

log = logging.getLogger(__name__)
T = TypeVar("T")

# Token kinds whose member must exist for the address to be accepted.
MEMBER_TOKENS = frozenset({"reply", "digest", "ack", "which", "welcome", "rules", "thanks_value"})
# Channels whose address takes mail at RCPT (pending and declined ones are unknown there).
ADDRESSABLE = (ChannelStatus.ACTIVE, ChannelStatus.ARCHIVED)


class BridgeHandler:
    """aiosmtpd handler: route at RCPT, run the inbound pipeline at DATA."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.domain = str(app.config["MAIL_DOMAIN"])
        self.keys = tokens.keys_from_config(app.config)
        self.max_rcpts = int(app.config["SMTP_MAX_RECIPIENTS"])
        # The database work runs off the event loop on a few threads of our own. On SQLite one
        # is best: the writes take turns anyway, and with more threads (asyncio's default
        # pool) they fought over the GIL — measured with bench/inbound.py, one thread cut the
        # intake's CPU per message by a third and halved its p99.
        workers = int(app.config["SMTP_WORKERS"]) or (
            1 if engine_of(app).dialect.name == "sqlite" else 4
        )
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="hiroba-intake")

    async def _off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self.max_rcpts:
            return replies.for_reason(Reason.NO_RECIPIENTS)
        dest = addresses.decode(address, self.domain, self.keys)
        if dest is None:
            return replies.for_reason(Reason.UNKNOWN_ADDRESS)
        if not await self._off_loop(self.exists, dest):
            return replies.for_reason(Reason.UNKNOWN_ADDRESS)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    def exists(self, dest: Destination) -> bool:
        """One lookup: a channel address names a live channel (an archived one too: its
        address still exists, and at DATA a member hears by mail that it takes no new posts,
        as over IMAP; a stranger is refused there in protocol); a token's member exists.

        It reads without the write lock (``reading``) and does not wait for the pipeline's
        SQLite turn (``ingest.serialized``): measured with bench/inbound.py, an RCPT queued
        behind DATA's writes was a third of the intake's time and doubled its latency.
        """
        if dest.kind == "channel":
            with reading(self.app) as session:
                channel = channels.find_channel(session, dest.slug or "")
                return channel is not None and channel.status in ADDRESSABLE
        if dest.kind in MEMBER_TOKENS and dest.token is not None:
            with reading(self.app) as session:
                found = session.scalar(select(User.id).where(User.id == dest.token.user_id))
                return found is not None
        return True

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        outcome = await self._off_loop(
            ingest.receive, self.app, raw, list(envelope.rcpt_tos), "smtp"
        )
        if outcome.status == "failed":
            # Stored, but something broke: the retry is answered from the stored outcome.
            return replies.TEMPFAIL
        return replies.for_status(outcome.status, outcome.reason)

    async def handle_exception(self, error: Exception) -> str:
        """Database outages and bugs alike: a temporary failure, so the sender retries."""
        log.error("SMTP intake error: %s: %s", type(error).__name__, error)
        return replies.TEMPFAIL


class Intake(Controller):
    """The aiosmtpd controller; stopping it also stops the handler's threads."""

    def stop(self, no_assert: bool = False) -> None:
        super().stop(no_assert)
        self.handler.pool.shutdown(wait=True)


def make_controller(app: Flask, host: str | None = None, port: int | None = None) -> Intake:
    """Build (not start) the SMTP intake on SMTP_HOST:SMTP_PORT, advertising SIZE."""
    return Intake(
        BridgeHandler(app),
        hostname=host or str(app.config["SMTP_HOST"]),
        port=int(port if port is not None else app.config["SMTP_PORT"]),
        server_hostname=str(app.config["MAIL_DOMAIN"]),
        data_size_limit=int(app.config["SMTP_MAX_SIZE"]),
        enable_SMTPUTF8=True,
        decode_data=False,
        ident="Hiroba",
    )
