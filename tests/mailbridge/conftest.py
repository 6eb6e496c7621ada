"""Fixtures the mail bridge tests share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from mailbridge import smtp
from tests.conftest import free_port


@pytest.fixture
def intake(app: Flask) -> Iterator[Any]:
    """The real SMTP intake (aiosmtpd Controller with the BridgeHandler) on a free loopback
    port, which the app's SMTP_HOST/SMTP_PORT then name (the catcher's replies go there)."""
    controller = smtp.make_controller(app, "127.0.0.1", free_port())
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
    try:
        yield controller
    finally:
        controller.stop()
