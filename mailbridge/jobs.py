"""Scheduled jobs: module-level functions taking the app (scheduler.py runs them)."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask

from hub.db import transaction, utcnow
from hub.services import acknowledgements
from mailbridge import delivery, digest_job, fanout, ingest, retention

log = logging.getLogger(__name__)

# Events fanned out per round of the fan-out job (it runs rounds until none is left).
FAN_OUT_BATCH = 500


def fan_out_events(app: Flask) -> int:
    """Turn every pending domain event into outbox rows (FAN_OUT_BATCH events a round)."""
    handled = 0
    while True:
        n = fanout.fan_out(app, limit=FAN_OUT_BATCH)
        handled += n
        if n < FAN_OUT_BATCH:
            return handled


def drain_outbox(app: Flask) -> int:
    """Deliver every due outbox row."""
    return delivery.drain_due(app)


def send_digests(app: Flask, now: datetime | None = None) -> int:
    """Build and queue the digests that are due now."""
    return digest_job.send_due(app, now or utcnow())


def send_reminders(app: Flask, now: datetime | None = None) -> int:
    """Remind members of announcements they have not acknowledged (culture's service)."""
    with transaction(app) as session:
        return acknowledgements.send_due_reminders(session, now or utcnow())


def process_received(app: Flask) -> int:
    """Finish inbound mail that was stored but not processed (e.g. after a crash)."""
    return ingest.process_received(app)


def prune_mail(app: Flask) -> int:
    """Drop the raw bytes of finished mail older than KEEP_MAIL_DAYS (0: keep them forever)."""
    days = int(app.config.get("KEEP_MAIL_DAYS") or 0)
    return retention.prune(app, days=days).rows if days > 0 else 0
