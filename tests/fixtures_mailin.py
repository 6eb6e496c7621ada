"""A throwaway Dovecot IMAP server for the mail-in tests (RECIPES.md §1: rootless, no systemd).

Import the fixture explicitly: ``from tests.fixtures_mailin import dovecot  # noqa: F401``.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import free_port, need_tool

IMAP_USER, IMAP_PASSWORD = "hiroba", "secret"

CONF = """\
instance_name = dovecot-mailin-{port}
base_dir = {d}/run
state_dir = {d}/state
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = /dev/stderr
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:{d}/mail/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
mailbox_idle_check_interval = 1 secs
"""


def _wait_greeting(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"dovecot did not answer on port {port}")


@pytest.fixture(scope="module")
def dovecot() -> Iterator[dict[str, Any]]:
    """Dovecot on a free loopback port, run as ``nobody`` under root (it refuses uid 0)."""
    binary = need_tool("dovecot", "/usr/sbin/dovecot")
    if os.geteuid() == 0:
        user, group = "nobody", "nogroup"
    else:
        user = pwd.getpwuid(os.geteuid()).pw_name
        group = grp.getgrgid(os.getegid()).gr_name
    uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
    # Not pytest's tmp_path: /tmp/pytest-of-root is 0700 and 'nobody' cannot enter it.
    d = tempfile.mkdtemp(prefix="dovecot-mi-")
    port = free_port()
    for sub in ("run", "state", "mail"):
        os.mkdir(os.path.join(d, sub))
    with open(os.path.join(d, "passwd"), "w") as f:
        f.write(f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}\n")
    conf = os.path.join(d, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(CONF.format(d=d, port=port, user=user, group=group, uid=uid, gid=gid))
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            os.chown(os.path.join(root, n), uid, gid)
    os.chown(d, uid, gid)
    log = open(os.path.join(d, "dovecot.log"), "wb")
    as_root = os.geteuid() == 0
    proc = subprocess.Popen(
        [binary, "-F", "-c", conf],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        user=uid if as_root else None,
        group=gid if as_root else None,
        extra_groups=[] if as_root else None,
    )
    try:
        _wait_greeting(port)
        yield {
            "host": "127.0.0.1",
            "port": port,
            "user": IMAP_USER,
            "password": IMAP_PASSWORD,
            "dir": d,
            "url": f"imap://{IMAP_USER}:{IMAP_PASSWORD}@127.0.0.1:{port}/INBOX",
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(d, ignore_errors=True)
