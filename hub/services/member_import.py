"""Importing members from a CSV file (admin page and `hiroba user import`): per-row errors,
a dry run that changes nothing, files from Excel in Shift_JIS as well as UTF-8."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from hub.errors import Invalid, Reason
from hub.models import User
from hub.services.accounts import LOCALES, find_user_by_email, normalize_email, require_admin
from hub.services.onboarding import Start, add_member
from hub.services.working_time import check_timezone, parse_working_days, parse_working_hours


@dataclass
class ImportRow:
    line: int
    email: str
    name: str
    errors: list[str] = field(default_factory=list)
    user_id: int | None = None


EXTRA_CELLS = "\0extra"
YES = ("1", "true", "yes", "y", "はい")
NO = ("0", "false", "no", "n", "いいえ")


def decode_csv(raw: bytes) -> str:
    """Read an uploaded CSV: UTF-8 (with or without a BOM), else Shift_JIS (CP932), which
    Excel in Japan writes by default.

    >>> decode_csv("email,name\\n".encode() + "山本".encode("cp932"))
    'email,name\\n山本'
    """
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp932", errors="replace")


def import_csv(
    session: Session,
    data: str,
    *,
    dry_run: bool = False,
    actor: User | None = None,
    start: Start | None = None,
) -> list[ImportRow]:
    """Add members from CSV (email,name[,email_only][,locale][,role][,timezone][,working_days]
    [,working_hours]); report per-row errors.

    With ``dry_run`` nothing is written. Rows with errors are skipped, the others added as any
    new member is (``onboarding.add_member``: the default channels, and invited unless
    ``start`` says not to).
    """
    require_admin(actor)
    rows: list[ImportRow] = []
    # restkey: a line with more cells than the header (an unquoted comma in a name) is an
    # error of that line, not a crash of the whole import.
    reader = csv.DictReader(io.StringIO(data.lstrip("\ufeff")), restkey=EXTRA_CELLS)
    seen: set[str] = set()
    for n, rec in enumerate(reader, start=2):
        extra = rec.pop(EXTRA_CELLS, None)
        rec = {(k or "").strip().lower(): (v or "").strip() for k, v in rec.items()}
        row = ImportRow(line=n, email=rec.get("email", ""), name=rec.get("name", ""))
        rows.append(row)
        flag_text = rec.get("email_only", "").lower()
        flag = flag_text in YES
        locale = rec.get("locale") or "ja"
        role = rec.get("role", "").lower()
        try:
            if extra:
                raise Invalid(Reason.INVALID_VALUE, "extra cells")
            email = normalize_email(row.email)
            if email in seen or find_user_by_email(session, email) is not None:
                raise Invalid(Reason.DUPLICATE_EMAIL, email)
            seen.add(email)
            if not row.name:
                raise Invalid(Reason.INVALID_VALUE, "name is empty")
            if locale not in LOCALES:
                raise Invalid(Reason.INVALID_VALUE, f"locale: {locale}")
            if flag_text and flag_text not in YES + NO:
                raise Invalid(Reason.INVALID_VALUE, f"email_only: {flag_text}")
            if role not in ("", "member", "admin"):
                raise Invalid(Reason.INVALID_VALUE, f"role: {role}")
            schedule = _csv_schedule(rec)
        except Invalid as exc:
            row.errors.append(exc.reason.value + (f": {exc.detail}" if exc.detail else ""))
            continue
        if not dry_run:
            user = add_member(
                session,
                start=start or Start(),
                email=email,
                name=row.name,
                email_only=flag,
                locale=locale,
                admin=rec.get("role", "").lower() == "admin",
                actor=actor,
                **schedule,
            )
            row.user_id = user.id
    return rows


def _csv_schedule(rec: dict[str, str]) -> dict[str, str]:
    """A CSV row's time zone, working days and hours (each optional), checked: a night shift
    is written 22:00-06:00."""
    found = {k: rec[k] for k in ("timezone", "working_days", "working_hours") if rec.get(k)}
    if "timezone" in found:
        check_timezone(found["timezone"])
    if "working_days" in found:
        parse_working_days(found["working_days"])
    if "working_hours" in found:
        parse_working_hours(found["working_hours"])
    return found
