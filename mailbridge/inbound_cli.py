"""`hiroba mail` commands for mail in: ingest, address, log."""

from __future__ import annotations

import click

COMMANDS: tuple[click.Command, ...] = ()
