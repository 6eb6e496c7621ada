"""What one member's digest holds: the items that need them, the new threads by channel, the
thanks they got, and the ``Digest`` itself, as ``digests.collect_digest`` builds it and
``digest_mail`` writes it out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class NeedItem:
    thread_id: int | None
    title: str
    channel_name: str
    why: str  # mention, question, ack
    author: str = ""
    snippet: str = ""
    announcement_id: int | None = None
    # The post this item shows (a mention, a question, an announcement's first post when it is
    # in the window): the channel sections do not show it again.
    post_id: int | None = None
    # When the member was named (a mention): an answer of theirs in the thread after it
    # answers it (``digest_needs``).
    at: datetime | None = None
    # How many more posts of the thread need the member (one item per thread, the latest).
    more: int = 0


@dataclass(frozen=True, slots=True)
class ThreadItem:
    thread_id: int
    title: str
    is_new: bool
    count: int
    author: str
    snippet: str


@dataclass(frozen=True, slots=True)
class ChannelSection:
    channel_id: int
    slug: str
    name: str
    purpose: str
    social: bool
    items: tuple[ThreadItem, ...]
    more: int


@dataclass(frozen=True, slots=True)
class ThanksItem:
    sender: str
    message: str
    value: str | None


@dataclass(frozen=True, slots=True)
class Digest:
    user_id: int
    since: datetime
    until: datetime
    needs: tuple[NeedItem, ...]
    thanks: tuple[ThanksItem, ...]
    channels: tuple[ChannelSection, ...]
    # New threads in channels left out of the digest to keep it short.
    more_threads: int = 0
    more_channels: int = 0

    @property
    def thread_count(self) -> int:
        return len({i["thread_id"] for i in self.items()})

    def items(self) -> list[dict[str, Any]]:
        """Every thread the digest shows, once, in order (stored on the DigestRun)."""
        out: dict[int, dict[str, Any]] = {}
        for n in self.needs:
            if n.thread_id is not None:
                out.setdefault(n.thread_id, {"title": n.title, "channel": n.channel_name})
        for s in self.channels:
            for t in s.items:
                out.setdefault(t.thread_id, {"title": t.title, "channel": s.name})
        return [{"marker": f"#{k}", "thread_id": k, **v} for k, v in out.items()]
