"""Strings defined in one place and translated where they are shown (tables of reasons)."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark ``message`` for extraction (``pybabel extract -k N_``) and return it unchanged: it
    is translated where it is shown (a mail template's ``_(why)``), in the reader's language."""
    return message
