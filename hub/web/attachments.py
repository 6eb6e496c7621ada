"""Attachments on the web: downloads, only for members who may read the post's channel (404
otherwise), and what the file fields accept, in words."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from babel.lists import format_list
from flask import Blueprint, current_app, g, send_file
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from hub.db import get_session
from hub.models import Attachment
from hub.services import attachments

bp = Blueprint("attachments", __name__)


@bp.app_template_filter("filesize")
def filesize(size: int) -> str:
    """A file's size for people: bytes under 1 KB (never "0.0 KB"), else KB or MB, one decimal
    at most, in the reader's locale (1,234.5 KB)."""
    if size < 1024:
        return str(ngettext("%(num)d byte", "%(num)d bytes", size))
    if size < 1024 * 1024:
        return str(gettext("%(size)s KB", size=format_decimal(size / 1024, "#,##0.#")))
    return str(gettext("%(size)s MB", size=format_decimal(size / 1024 / 1024, "#,##0.#")))


# What a member may attach, in words (the types ALLOWED_ATTACHMENT_TYPES names; any other
# type is shown as it is written there).
KINDS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "application/pdf": "PDF",
    "text/plain": _l("plain text"),
    "text/csv": "CSV",
    "application/zip": "ZIP",
    "application/msword": "Word",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.ms-excel": "Excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "application/vnd.ms-powerpoint": "PowerPoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint",
}


@dataclass(frozen=True, slots=True)
class Attachable:
    """What the file fields accept: kinds in words, the largest size, the ``accept`` value."""

    kinds: str
    max_bytes: int
    accept: str


@bp.app_template_filter("listing")
def listing(items: Iterable[object]) -> str:
    """Items as a list in the reader's language: 「a.svg、b.html」, "a.svg, b.html"."""
    return format_list([str(x) for x in items], locale=get_locale() or "en")


@bp.app_template_global("attachable")
def attachable() -> Attachable:
    """What may be attached here (the file fields' hint and a refusal's explanation)."""
    limits = attachments.Limits.from_config(current_app.config)
    types = sorted(limits.allowed_types)
    known = [str(name) for kind, name in KINDS.items() if kind in limits.allowed_types]
    names = dict.fromkeys(known + [t for t in types if t not in KINDS])
    # The file picker offers these types first; the server still checks what arrives.
    return Attachable(kinds=listing(names), max_bytes=limits.max_bytes, accept=",".join(types))


@bp.app_template_test("shown_in")
def shown_in(attachment: Attachment, body: str) -> bool:
    """Whether a post's body shows ``attachment`` in place (an inline image of its mail), so
    the list of the post's files leaves it out."""
    return attachment.id in attachments.shown_in(body)


@bp.get("/attachments/<int:attachment_id>/<path:filename>")
@login_required
def download(attachment_id: int, filename: str) -> ResponseReturnValue:
    """Send the stored bytes; raster images inline, everything else as a download."""
    found = attachments.get_readable(get_session(), attachment_id, viewer=g.user)
    limits = attachments.Limits.from_config(current_app.config)
    path = attachments.path_for(limits.root, found.sha256)
    inline = attachments.is_inline(found)
    response = send_file(
        path,
        mimetype=found.content_type,
        as_attachment=not inline,
        download_name=found.filename,
        conditional=True,
        max_age=3600,
    )
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename*=UTF-8''{quote(found.filename, safe='')}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Even if a browser were fooled into rendering it, the file runs no script and loads nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
