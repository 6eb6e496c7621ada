"""`hiroba user deactivate|reactivate EMAIL`: what admins' scripts run when someone leaves the
company or comes back; their --help says what they do."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo

from hub import db
from hub.services import accounts
from mailbridge.cli import main
from tests.factories import make_user


def hiroba(app: Flask, *args: str) -> Any:
    return CliRunner().invoke(main, ["user", *args], obj=ScriptInfo(create_app=lambda: app))


def test_deactivate_and_reactivate_a_member(app: Flask) -> None:
    with db.transaction(app) as s:
        make_user(s, email="tanaka@corp.example", name="田中")
    r = hiroba(app, "deactivate", "Tanaka@corp.example")
    assert r.exit_code == 0 and "tanaka@corp.example: deactivated" in r.output
    with db.transaction(app) as s:
        assert accounts.find_user_by_email(s, "tanaka@corp.example").active is False
    r = hiroba(app, "reactivate", "tanaka@corp.example")
    assert r.exit_code == 0 and "reactivated" in r.output
    with db.transaction(app) as s:
        assert accounts.find_user_by_email(s, "tanaka@corp.example").active is True
    r = hiroba(app, "deactivate", "nobody@corp.example")
    assert r.exit_code != 0 and "no member with the address nobody@corp.example" in r.output


def test_their_help_says_what_they_do(app: Flask) -> None:
    assert "can no longer sign in or post" in hiroba(app, "deactivate", "--help").output
    assert "sign in and post again" in hiroba(app, "reactivate", "--help").output
    listed = hiroba(app, "--help").output
    assert "Deactivate a member" in listed and "Let a deactivated member" in listed
