"""Night shifts set by an admin: `hiroba user add --working-hours 22:00-06:00`, and the CSV import
(command and web page) with timezone, working_days and working_hours columns; both databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo

from hub.services import accounts
from mailbridge.cli import main
from tests.factories import make_user


def hiroba(app: Flask, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


def test_user_add_takes_a_night_shift_and_refuses_equal_times(app: Flask) -> None:
    ok = hiroba(app, "user", "add", "--email", "yakin@corp.example", "--name", "夜勤 一郎",
                "--timezone", "Europe/Berlin", "--working-days", "mon-fri",
                "--working-hours", "22:00-06:00")  # fmt: skip
    assert ok.exit_code == 0, ok.output
    listed = json.loads(hiroba(app, "user", "list", "--json").output)
    assert [(u["email"], u["working_hours"], u["timezone"]) for u in listed] == [
        ("yakin@corp.example", "22:00-06:00", "Europe/Berlin")
    ]
    refused = hiroba(app, "user", "add", "--email", "x@corp.example", "--name", "X",
                     "--working-hours", "06:00-06:00")  # fmt: skip
    assert refused.exit_code == 1 and "working hours: 06:00-06:00" in refused.output
    assert "22:00-06:00" in hiroba(app, "user", "add", "--help").output


CSV = (
    "email,name,timezone,working_days,working_hours\n"
    "yakin@corp.example,夜勤 一郎,Asia/Tokyo,月-金,22:00-06:00\n"
    "day@corp.example,日勤 花子,,,\n"
    "same@corp.example,同じ,Asia/Tokyo,mon-fri,09:00-09:00\n"
    "zone@corp.example,どこか,Mars/Base,mon-fri,09:00-18:00\n"
)


def test_csv_import_command_sets_a_night_shift_per_row(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "staff.csv"
    path.write_text(CSV, encoding="utf-8")
    result = hiroba(app, "user", "import", str(path), "--json")
    assert result.exit_code == 1
    rows = {r["email"]: r["errors"] for r in json.loads(result.output)}
    assert rows["yakin@corp.example"] == [] and rows["day@corp.example"] == []
    assert rows["same@corp.example"] == ["invalid_value: working hours: 09:00-09:00"]
    assert rows["zone@corp.example"] == ["invalid_value: time zone: Mars/Base"]
    listed = {u["email"]: u for u in json.loads(hiroba(app, "user", "list", "--json").output)}
    assert listed["yakin@corp.example"]["working_hours"] == "22:00-06:00"
    assert listed["yakin@corp.example"]["working_days"] == "mon,tue,wed,thu,fri"
    # A row without the columns keeps the defaults.
    assert listed["day@corp.example"]["working_hours"] == "09:00-18:00"
    assert set(listed) == {"yakin@corp.example", "day@corp.example"}


def test_csv_import_page_explains_bad_hours_and_adds_the_night_shift(
    client: Any, session: Any, auth: Any
) -> None:
    make_user(session, email="admin@corp.example", name="管理者", admin=True)
    session.commit()
    auth.login("admin@corp.example")
    page = client.get("/admin/members/import").get_data(as_text=True)
    assert "22:00-06:00 for a night shift until 06:00 the next day" in page
    preview = client.post("/admin/members/import", data={"csv": CSV, "action": "preview"})
    text = preview.get_data(as_text=True)
    assert "Write the working hours as 09:00-18:00, or 22:00-06:00 for a night shift" in text
    assert "The time zone must be a name such as Asia/Tokyo." in text
    assert "invalid_value" not in text
    done = client.post("/admin/members/import", data={"csv": CSV, "action": "confirm"})
    assert done.status_code == 200
    added = accounts.find_user_by_email(session, "yakin@corp.example")
    assert added is not None and (added.work_start, added.work_end) == (1320, 360)
