"""Enumerations stored in the database as strings."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    MEMBER = "member"
    ADMIN = "admin"


class Via(StrEnum):
    """The door an action came through."""

    WEB = "web"
    EMAIL = "email"
    CLI = "cli"
    LINK = "link"


class Delivery(StrEnum):
    """How a member receives a channel by mail."""

    EVERY_POST = "every_post"
    DAILY = "daily"
    WEEKLY = "weekly"
    MENTIONS = "mentions"
    OFF = "off"


class ChannelKind(StrEnum):
    WORK = "work"
    SOCIAL = "social"


class ChannelStatus(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"  # a private channel waiting for admin approval
    DECLINED = "declined"
    ARCHIVED = "archived"
