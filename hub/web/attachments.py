"""Attachment downloads: only for members who may read the post's channel (404 otherwise)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, current_app, g, send_file
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, gettext, ngettext
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
