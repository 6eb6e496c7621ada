"""Sender authentication: DKIM (direct SMTP) and trusted Authentication-Results (IMAP mode)."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from typing import Any

import dkim
import pytest
from flask import Flask

from mailbridge import auth, ingest
from tests.conftest import need_tool
from tests.factories import make_channel, make_user
from tests.mailbridge.test_ingest import mail


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """An RSA key pair made by openssl: the PEM private key and the DNS TXT record for it."""
    openssl = need_tool("openssl")
    path = tmp_path_factory.mktemp("dkim") / "key.pem"
    subprocess.run([openssl, "genrsa", "-traditional", "-out", str(path), "2048"], check=True,
                   capture_output=True)  # fmt: skip
    der = subprocess.run(
        [openssl, "rsa", "-in", str(path), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return path.read_bytes(), b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


@pytest.fixture
def dns(key: tuple[bytes, bytes]) -> Iterator[None]:
    """Serve sel1._domainkey.corp.example from a dictionary instead of DNS."""
    records = {b"sel1._domainkey.corp.example.": key[1]}
    auth.DNS_LOOKUP = lambda name, timeout=5: records.get(name.rstrip(b".") + b".")
    yield
    auth.DNS_LOOKUP = None


def signed(pem: bytes, raw: bytes) -> bytes:
    sig = dkim.sign(raw, b"sel1", b"corp.example", pem, include_headers=[b"from", b"subject"])
    return sig + raw


@pytest.fixture
def world(app: Flask, session: Any) -> None:
    make_user(session, email="buchou@corp.example", name="部長")
    make_channel(session, slug="general", name="全社")
    session.commit()


def test_dkim_pass_fail_and_alignment(key: tuple[bytes, bytes], dns: None) -> None:
    raw = mail(frm="buchou@corp.example", to="general@hub.test", subject="件名")
    good = signed(key[0], raw)
    assert auth.from_dkim(good, "corp.example")[0] == "pass"
    tampered = good.replace(b"From: buchou@", b"From: shacho@")
    assert tampered != good and auth.from_dkim(tampered, "corp.example")[0] == "fail"
    assert auth.from_dkim(good, "other.example")[0] == "fail"  # signed by someone else
    assert auth.from_dkim(raw, "corp.example") == ("fail", "no DKIM signature")


def test_trusted_authentication_results_only() -> None:
    def with_ar(*headers: str) -> bytes:
        lines = "".join(f"Authentication-Results: {h}\r\n" for h in headers)
        return (lines + "From: a@corp.example\r\nSubject: x\r\n\r\nhi\r\n").encode()

    trusted = "mx.corp.example"
    ok = with_ar("mx.corp.example; dkim=pass header.d=corp.example; dmarc=pass")
    assert auth.from_authentication_results(ok, "corp.example", trusted)[0] == "pass"
    forged = with_ar("evil.example; dmarc=pass")
    assert auth.from_authentication_results(forged, "corp.example", trusted)[0] == "fail"
    failed = with_ar("mx.corp.example; dkim=fail header.d=corp.example; dmarc=fail")
    assert auth.from_authentication_results(failed, "corp.example", trusted)[0] == "fail"


def test_policy_enforce_holds_monitor_records(
    app: Flask, world: None, key: tuple[bytes, bytes], dns: None
) -> None:
    app.config["SENDER_AUTH"] = "enforce"
    unsigned = mail(frm="buchou@corp.example", to="general@hub.test", subject="未署名")
    out = ingest.receive(app, unsigned, ["general@hub.test"], "smtp")
    assert (out.status, out.reason) == ("held", "auth_failed")
    good = signed(key[0], mail(frm="buchou@corp.example", to="general@hub.test", subject="署名"))
    assert ingest.receive(app, good, ["general@hub.test"], "smtp").status == "posted"
    app.config["SENDER_AUTH"] = "monitor"
    other = mail(frm="buchou@corp.example", to="general@hub.test", subject="監視")
    assert ingest.receive(app, other, ["general@hub.test"], "smtp").status == "posted"
    with app.extensions["hiroba.sessionmaker"]() as s:
        from sqlalchemy import select

        from hub.models import InboundMessage

        row = s.scalar(select(InboundMessage).order_by(InboundMessage.id.desc()))
        assert row.results[0]["auth"].startswith("fail")


def test_policy_off_checks_nothing(app: Flask, world: None) -> None:
    raw = mail(frm="buchou@corp.example", to="general@hub.test", subject="普通")
    assert ingest.receive(app, raw, ["general@hub.test"], "smtp").status == "posted"
