"""Mail the web side asks for to let a member in: the magic sign-in link, and the invitation
(with a sign-in link when the event carries a token); an answer to either goes to help@."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from hub.models import Event, User
from mailbridge import outbound


def on_login_link(app: Flask, session: Session, event: Event) -> None:
    """Mail the magic sign-in link the web side made (event data: token)."""
    user = session.get(User, event.subject_id) if event.subject_id else None
    token = (event.data or {}).get("token")
    if user is None or not token:
        return
    outbound.queue_mail(
        app,
        session,
        kind="login",
        dedupe_key=f"login:{event.id}",
        to=user,
        template="login_link",
        context={
            "link": f"{app.config['BASE_URL']}/login/link/{token}",
            "minutes": app.config.get("MAGIC_LINK_MINUTES", 15),
        },
        # Answered ("the link does not work"), it gets the how-to, which works without one.
        headers={"Reply-To": f"help@{app.config['MAIL_DOMAIN']}"},
        urgent=True,
    )


def on_member_invited(app: Flask, session: Session, event: Event) -> None:
    """Mail an invitation (with a sign-in link when the event carries a token)."""
    user = session.get(User, event.subject_id) if event.subject_id else None
    if user is None:
        return
    inviter = session.get(User, event.actor_id) if event.actor_id else None
    token = (event.data or {}).get("token")
    outbound.queue_mail(
        app,
        session,
        kind="invite",
        dedupe_key=f"invite:{event.id}",
        to=user,
        template="invitation",
        context={
            "link": f"{app.config['BASE_URL']}/login/link/{token}" if token else None,
            "inviter": inviter.name if inviter else None,
        },
        # It tells an email-only member to "reply to the mails you get": answering the
        # invitation itself gets the how-to and their channels (help@), not a refusal.
        headers={"Reply-To": f"help@{app.config['MAIL_DOMAIN']}"},
        urgent=True,
    )
