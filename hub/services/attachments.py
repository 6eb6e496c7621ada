"""Attachments: stored on disk by content hash, readable only by those who may read the channel.

The web reply form and the mail-in pipeline both call ``store``; the file lands under
INSTANCE_DIR/attachments/<2 hex>/<sha256> once, however many posts carry it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from hub import permissions
from hub.errors import Invalid, NotFound, Reason
from hub.models import Attachment, User

# Shown in the page (not downloaded): raster images only; never SVG or HTML.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# A post's body shows one of its images where its mail showed it as a Markdown image of the path
# the web serves the file under (access checked there): ![写真.png](/attachments/12/写真.png).
SHOWN = re.compile(r"!\[(?P<name>[^\]\n]{0,300})\]\(/attachments/(?P<id>\d+)/[^)\s]{0,1000}\)")


@dataclass(frozen=True, slots=True)
class Limits:
    """Where files go and what is accepted (from the app's configuration)."""

    root: Path
    max_bytes: int
    allowed_types: frozenset[str]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        allowed = config["ALLOWED_ATTACHMENT_TYPES"]
        if isinstance(allowed, str):
            allowed = allowed.split(",")
        return cls(
            root=Path(config["INSTANCE_DIR"]) / "attachments",
            max_bytes=int(config["MAX_ATTACHMENT_BYTES"]),
            allowed_types=frozenset(t.strip().lower() for t in allowed if t.strip()),
        )


def _current_limits() -> Limits:
    # Imported here: services do not depend on Flask except for the app's settings.
    from flask import current_app

    return Limits.from_config(current_app.config)


def clean_filename(name: str) -> str:
    """Keep a file name safe to store and to send back in Content-Disposition.

    >>> clean_filename("../../etc/passwd")
    'passwd'
    >>> clean_filename("見積書\\r\\n.pdf")
    '見積書.pdf'
    >>> clean_filename("")
    'file'
    """
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r'[<>:"|?*]', "_", name).strip(" .")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext[:9]) if dot else name[:200]
    return name or "file"


def normalize_type(content_type: str) -> str:
    """``"Image/PNG; name=x"`` -> ``"image/png"``."""
    return content_type.split(";", 1)[0].strip().lower()


def store(
    session: Session,
    *,
    uploader: User | None,
    filename: str,
    content_type: str,
    data: bytes,
    limits: Limits | None = None,
) -> Attachment:
    """Check size and type, write the bytes once by sha256, and add an unattached Attachment.

    The caller hands the result to ``threads.reply``/``start_thread(attachments=[...])``.
    :raises Invalid: TOO_LARGE, UNSUPPORTED_TYPE, or INVALID_VALUE for an empty file.
    """
    limits = limits or _current_limits()
    kind = normalize_type(content_type)
    if not data:
        raise Invalid(Reason.INVALID_VALUE, "empty file")
    if len(data) > limits.max_bytes:
        raise Invalid(Reason.TOO_LARGE, f"{len(data)} > {limits.max_bytes} bytes")
    if kind not in limits.allowed_types:
        raise Invalid(Reason.UNSUPPORTED_TYPE, kind)
    digest = hashlib.sha256(data).hexdigest()
    _write_once(limits.root, digest, data)
    attachment = Attachment(
        uploader_id=uploader.id if uploader else None,
        filename=clean_filename(filename),
        content_type=kind,
        size=len(data),
        sha256=digest,
    )
    session.add(attachment)
    session.flush()
    return attachment


@dataclass(frozen=True, slots=True)
class Upload:
    """A file picked on a form: its name, the type the browser gave it, its bytes."""

    filename: str
    content_type: str
    data: bytes


class FilesRefused(Invalid):
    """Files picked together, some of which cannot be attached (the post is refused whole)."""

    def __init__(self, refused: list[tuple[str, Reason]], others: list[str]) -> None:
        super().__init__(refused[0][1], ", ".join(name for name, _why in refused))
        self.refused = refused  # (file name, why), in the order picked
        self.others = others  # the acceptable files picked with them: to be picked again

    def by_reason(self) -> dict[Reason, list[str]]:
        """The refused files' names, grouped by why."""
        grouped: dict[Reason, list[str]] = {}
        for name, why in self.refused:
            grouped.setdefault(why, []).append(name)
        return grouped


def store_all(
    session: Session,
    *,
    uploader: User | None,
    uploads: Sequence[Upload],
    limits: Limits | None = None,
) -> list[Attachment]:
    """Store every upload; when any is refused, say which, why, and which were fine.

    :raises FilesRefused: after trying every file (the caller rolls back, as for any refusal,
        so the acceptable ones are not kept either).
    """
    limits = limits or _current_limits()
    stored: list[Attachment] = []
    refused: list[tuple[str, Reason]] = []
    for up in uploads:
        try:
            kept = store(session, uploader=uploader, filename=up.filename,
                         content_type=up.content_type, data=up.data, limits=limits)  # fmt: skip
            stored.append(kept)
        except Invalid as exc:
            refused.append((clean_filename(up.filename), exc.reason))
    if refused:
        raise FilesRefused(refused, [a.filename for a in stored])
    return stored


def path_for(root: Path, digest: str) -> Path:
    """Where the bytes with ``digest`` live under ``root``."""
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError(digest)
    return root / digest[:2] / digest


def _write_once(root: Path, digest: str, data: bytes) -> Path:
    target = path_for(root, digest)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename: a reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def get_readable(session: Session, attachment_id: int, *, viewer: User) -> Attachment:
    """Return the attachment if ``viewer`` may read the post that carries it, else NotFound.

    An attachment not yet on a post is visible to its uploader only; one on a deleted or
    hidden post to nobody.
    """
    found = session.get(Attachment, attachment_id)
    if found is None or not viewer.active:
        raise NotFound(Reason.NOT_FOUND, f"attachment {attachment_id}")
    post = found.post
    if post is None:
        if found.uploader_id == viewer.id:
            return found
        raise NotFound(Reason.NOT_FOUND, f"attachment {attachment_id}")
    if not post.visible or not permissions.can_read(session, viewer, post.thread.channel):
        raise NotFound(Reason.NOT_FOUND, f"attachment {attachment_id}")
    return found


def is_inline(attachment: Attachment) -> bool:
    """Whether a browser may show it in the page (raster images only)."""
    return attachment.content_type in INLINE_TYPES


def in_body(attachment: Attachment) -> str:
    """The Markdown that shows ``attachment`` (an image) in its post's body, in place.

    >>> in_body(Attachment(id=12, filename="現場 [1].png"))
    '![現場 1.png](/attachments/12/%E7%8F%BE%E5%A0%B4%20%5B1%5D.png)'
    """
    name = re.sub(r"[\[\]]", "", attachment.filename)
    return f"![{name}](/attachments/{attachment.id}/{quote(attachment.filename)})"


def shown_in(body: str) -> set[int]:
    """The ids of the attachments ``body`` shows in place (``in_body``).

    >>> sorted(shown_in("写真です\\n![a.png](/attachments/12/a.png)\\n[b](/attachments/13/b)"))
    [12]
    """
    return {int(m.group("id")) for m in SHOWN.finditer(body)}
