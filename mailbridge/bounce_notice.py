"""The admins' mail when a member's mail stops for bouncing (event ``member_bouncing``).

Each active admin gets one, in their language, within their working hours: who, why (in words
and in the receiving server's own), what still works for that member, and how to start their
mail again (the members page, ``hiroba user unbounce``) or to deactivate a member who left.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from hub.models import Event, User
from hub.services import accounts, bounces
from mailbridge import quiet
from mailbridge.outbound import queue_mail


def on_member_bouncing(app: Flask, session: Session, event: Event) -> None:
    """Tell every active admin whose mail stopped and how to undo it (the member, if an admin,
    is bouncing and gets none)."""
    member = session.get(User, event.subject_id or 0)
    if member is None:
        return
    data = event.data or {}
    base = str(app.config["BASE_URL"]).rstrip("/")
    context = {
        "member": member,
        "kind": bounces.reason_kind(
            bool(data.get("hard")), str(data.get("status") or ""), str(data.get("diagnostic") or "")
        ),
        "hard": bool(data.get("hard")),
        "said": str(data.get("diagnostic") or data.get("status") or ""),
        "hard_days": int(data.get("hard_days") or 0),
        "any_days": int(data.get("any_days") or 0),
        "window_days": int(data.get("window_days") or 0),
        "members_link": f"{base}/admin/members#member-{member.id}",
        "command": f"hiroba user unbounce {member.email}",
    }
    for admin in accounts.active_admins(session):
        queue_mail(
            app, session, kind="member_bouncing", dedupe_key=f"member_bouncing:{event.id}",
            to=admin, template="member_bouncing", context=context,
            not_before=quiet.next_allowed(admin, quiet.clock_now()),
        )  # fmt: skip
