"""The data model: typed SQLAlchemy 2.x classes, no Flask and no mail here."""

from hub.models.accounts import ALL_DAYS, EmailAlias, LoginLink, Setting, User
from hub.models.channels import Channel, ChannelMute, Membership
from hub.models.culture import (
    Acknowledgement,
    Announcement,
    CompanyValue,
    Flag,
    ModerationAction,
    Thanks,
    ThanksRecipient,
)
from hub.models.enums import ChannelKind, ChannelStatus, Delivery, Role, Via
from hub.models.mail import (
    BounceRecord,
    CaughtMail,
    DigestRun,
    InboundMessage,
    MailboxState,
    OutboxMessage,
    PendingReply,
    RefusalNotice,
)
from hub.models.posts import (
    Attachment,
    Event,
    Mention,
    Post,
    PostRevision,
    Reaction,
    Thread,
    ThreadMute,
)

__all__ = [
    "ALL_DAYS",
    "Acknowledgement",
    "Announcement",
    "Attachment",
    "BounceRecord",
    "CaughtMail",
    "Channel",
    "ChannelKind",
    "ChannelMute",
    "ChannelStatus",
    "CompanyValue",
    "Delivery",
    "DigestRun",
    "EmailAlias",
    "Event",
    "Flag",
    "InboundMessage",
    "LoginLink",
    "MailboxState",
    "Membership",
    "Mention",
    "ModerationAction",
    "OutboxMessage",
    "PendingReply",
    "Post",
    "PostRevision",
    "Reaction",
    "RefusalNotice",
    "Role",
    "Setting",
    "Thanks",
    "ThanksRecipient",
    "Thread",
    "ThreadMute",
    "User",
    "Via",
]
