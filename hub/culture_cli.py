"""`hiroba announcement` commands: publish, status (and other culture admin commands)."""

from __future__ import annotations

import click

COMMANDS: tuple[click.Command, ...] = ()
