"""The key that signs sessions, reply tokens and mailed links: HIROBA_SECRET_KEY, or one made
at install time and kept in the instance folder (as Discourse, GitLab and Mattermost do).

Hiroba once shipped a fixed default key; anyone who read the source could sign an admin's
session with it. There is no default now: without HIROBA_SECRET_KEY the first ``hiroba init``
(or the first start) writes a random key to ``INSTANCE_DIR/secret_key`` (mode 0600), and every
later start, every process on that instance folder, reads the same one.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

FILE_NAME = "secret_key"
# Keys anyone can read in Hiroba's history: refused as the key and as an older key alike.
PUBLIC_KEYS = frozenset({"dev-not-secret-change-me"})


class SecretKeyError(RuntimeError):
    """The hub has no usable signing key; it must not start."""


def check(key: str, old_keys: str) -> None:
    """Refuse a key that shipped with Hiroba, as the key or among the older keys.

    :raises SecretKeyError: naming the setting to change.
    """
    if key in PUBLIC_KEYS:
        raise SecretKeyError(
            "HIROBA_SECRET_KEY is the development key that shipped with Hiroba and is public: "
            "unset it (a random key is then kept in the instance folder) or set a secret one"
        )
    if PUBLIC_KEYS & {k.strip() for k in old_keys.split(",")}:
        raise SecretKeyError(
            "HIROBA_OLD_SECRET_KEYS holds the public development key: remove it (anything it "
            "signed could have been forged by anyone)"
        )


def instance_key(folder: Path) -> tuple[str, bool]:
    """Return the instance folder's key, and whether it was made just now.

    :raises SecretKeyError: the key file is empty, or missing in a folder that cannot be
        written (set HIROBA_SECRET_KEY, or run ``hiroba init`` where it can).
    """
    path = folder / FILE_NAME
    try:
        try:
            return _read(path), False
        except FileNotFoundError:
            return _create(path)
    except OSError as exc:
        raise SecretKeyError(
            f"no signing key: {path} cannot be read or made ({exc.strerror}); set "
            "HIROBA_SECRET_KEY, or run `hiroba init` as the user the hub runs as"
        ) from exc


def _read(path: Path) -> str:
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise SecretKeyError(f"{path} is empty: delete it to make a new key, or restore it")
    return key


def _create(path: Path) -> tuple[str, bool]:
    """Write a new key beside ``path`` and link it into place: processes starting together
    (gunicorn's workers) never see a half-written file, and the first one's key wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # mkstemp makes the file readable and writable by its owner only (0600).
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{FILE_NAME}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(key + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            return _read(path), False
    finally:
        os.unlink(temp)
    return key, True
