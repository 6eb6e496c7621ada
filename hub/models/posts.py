"""Threads, posts, reactions, mentions and attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Base, utcnow
from hub.models.accounts import User
from hub.models.channels import Channel
from hub.models.enums import Via


class Thread(Base):
    """A titled conversation in one channel."""

    __tablename__ = "thread"
    __table_args__ = (Index("ix_thread_channel_last", "channel_id", "last_post_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_post_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The Message-ID mail clients thread on: the first mail's own id if the thread began by mail.
    # Indexed (not unique, as the column always was): a reply whose client dropped the +token
    # is placed by looking it up.
    message_id: Mapped[str | None] = mapped_column(String(998), default=None, index=True)

    channel: Mapped[Channel] = relationship()
    author: Mapped[User | None] = relationship()
    posts: Mapped[list[Post]] = relationship(
        back_populates="thread", order_by="Post.id", cascade="all, delete-orphan"
    )


class Post(Base):
    """One message in a thread, in Markdown; deleted posts stay as tombstones."""

    __tablename__ = "post"
    __table_args__ = (Index("ix_post_thread_id", "thread_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    # What a mail reply's trimming cut (quoted history, signature), shown on demand.
    trimmed: Mapped[str | None] = mapped_column(Text, default=None)
    # A mail with nothing new above its quotes, posted whole rather than emptied (issue #3:
    # "never strip everything"); the post says so.
    kept_whole: Mapped[bool] = mapped_column(default=False, server_default=false())
    via: Mapped[Via] = mapped_column(String(10), default=Via.WEB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    hidden: Mapped[bool] = mapped_column(default=False)
    # The Message-ID of the mail that carried it in, or the one we gave its notification.
    message_id: Mapped[str | None] = mapped_column(String(998), unique=True, default=None)

    thread: Mapped[Thread] = relationship(back_populates="posts")
    author: Mapped[User | None] = relationship()
    reactions: Mapped[list[Reaction]] = relationship(
        back_populates="post", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(back_populates="post")
    revisions: Mapped[list[PostRevision]] = relationship(
        back_populates="post", order_by="PostRevision.id", cascade="all, delete-orphan"
    )

    @property
    def visible(self) -> bool:
        return self.deleted_at is None and not self.hidden


class PostRevision(Base):
    """An earlier body of an edited post."""

    __tablename__ = "post_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    post: Mapped[Post] = relationship(back_populates="revisions")


class Reaction(Base):
    """An emoji a member put on a post (one of each kind per member)."""

    __tablename__ = "reaction"
    __table_args__ = (UniqueConstraint("post_id", "user_id", "emoji"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    emoji: Mapped[str] = mapped_column(String(32))
    via: Mapped[Via] = mapped_column(String(10), default=Via.WEB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    post: Mapped[Post] = relationship(back_populates="reactions")
    user: Mapped[User] = relationship()


class Mention(Base):
    """A member named with @ in a post."""

    __tablename__ = "mention"
    __table_args__ = (UniqueConstraint("post_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # When the member was named: with the post, or later by an edit (the digest's window).
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Attachment(Base):
    """A file stored on disk by content hash, served only to those who may read its channel."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), index=True, default=None
    )
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # Set for images a mail showed inline (cid: references are rewritten to the stored file).
    content_id: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    post: Mapped[Post | None] = relationship(back_populates="attachments")


class ThreadMute(Base):
    """A member who asked for no more mail about one thread."""

    __tablename__ = "thread_mute"
    __table_args__ = (UniqueConstraint("user_id", "thread_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))


class Event(Base):
    """Something the domain did that others may need to hear of (the transactional outbox).

    Written in the same transaction as the change; the mail bridge reads unprocessed rows.
    """

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_pending", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # post_created, thread_created, member_mentioned, member_joined, announcement_published, ...
    kind: Mapped[str] = mapped_column(String(50))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    channel_id: Mapped[int | None] = mapped_column(default=None)
    thread_id: Mapped[int | None] = mapped_column(default=None)
    post_id: Mapped[int | None] = mapped_column(default=None)
    subject_id: Mapped[int | None] = mapped_column(default=None)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
