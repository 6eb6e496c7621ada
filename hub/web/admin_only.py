"""Blueprints whose every page is for admins (members, the mail logs)."""

from __future__ import annotations

from flask import Blueprint, g
from flask_login import login_required

from hub import permissions
from hub.errors import Forbidden, Reason


def admins_only(bp: Blueprint) -> None:
    """Make every page of ``bp`` ask for sign-in, then refuse anyone but an admin (403)."""

    @bp.before_request
    @login_required
    def _admins_only() -> None:
        if not permissions.is_admin(g.user):
            raise Forbidden(Reason.ADMIN_ONLY)
