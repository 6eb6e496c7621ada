"""`hiroba mail` commands for mail out: digest, outbox, flush."""

from __future__ import annotations

import click

COMMANDS: tuple[click.Command, ...] = ()
