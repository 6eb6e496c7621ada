"""Admin member pages (admins only): invite, CSV preview and confirm, role, email-only, active."""

from __future__ import annotations

import io

from sqlalchemy import select

from hub.models import Event
from hub.services import accounts
from tests.factories import make_user

CSV = "email,name,email_only\nyamamoto@corp.example,山本 部長,yes\nbad-address,誰か,no\n"


def _admin(session, auth):
    make_user(session, email="admin@corp.example", name="管理者", admin=True)
    member = make_user(session, email="m@corp.example", name="一般")
    session.commit()
    auth.login("admin@corp.example")
    return member.id


def test_members_pages_are_for_admins_only(client, session, auth):
    make_user(session, email="m@corp.example")
    session.commit()
    auth.login("m@corp.example")
    assert client.get("/admin/members").status_code == 403
    assert client.post("/admin/members/invite", data={"email": "x@corp.example"}).status_code == 403


def test_invite_emits_member_invited(client, session, auth):
    _admin(session, auth)
    data = {"email": "New@Corp.example", "name": "新人"}
    r = client.post("/admin/members/invite", data=data)
    assert r.status_code == 303
    user = accounts.find_user_by_email(session, "new@corp.example")
    assert user is not None and not user.email_only
    invited = session.scalar(
        select(Event).where(Event.subject_id == user.id, Event.kind == "member_invited")
    )
    # A web member's invitation carries a sign-in link (tests/hub/test_onboarding.py).
    assert invited is not None and invited.data["token"]
    session.commit()
    again = client.post("/admin/members/invite", data={"email": "new@corp.example", "name": "x"})
    assert again.status_code == 422 and 'role="alert"' in again.get_data(as_text=True)


def test_an_email_only_invitee_gets_the_welcome_mail_not_a_web_invitation(client, session, auth):
    """Their invitation is the welcome mail (member_added): how to take part by mail, no link
    to the web pages (tests/hub/test_onboarding.py reads the mail)."""
    _admin(session, auth)
    data = {"email": "boss@corp.example", "name": "部長", "email_only": "1"}
    assert client.post("/admin/members/invite", data=data).status_code == 303
    user = accounts.find_user_by_email(session, "boss@corp.example")
    assert user is not None and user.email_only
    kinds = session.scalars(select(Event.kind).where(Event.subject_id == user.id)).all()
    assert "member_added" in kinds and "member_invited" not in kinds
    session.commit()


def test_csv_import_previews_then_adds(client, session, auth):
    _admin(session, auth)
    preview = client.post("/admin/members/import", data={"csv": CSV, "action": "preview"})
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "山本 部長" in page
    assert "That does not look like a mail address." in page and "invalid_email" not in page
    assert accounts.find_user_by_email(session, "yamamoto@corp.example") is None
    session.commit()
    done = client.post("/admin/members/import", data={"csv": CSV, "action": "confirm"})
    assert done.status_code == 200
    added = accounts.find_user_by_email(session, "yamamoto@corp.example")
    assert added is not None and added.email_only
    session.commit()


def test_role_email_only_and_deactivation(client, session, auth):
    member_id = _admin(session, auth)
    r = client.post(f"/admin/members/{member_id}/role", data={"role": "admin"})
    assert r.status_code == 303
    client.post(f"/admin/members/{member_id}/email-only", data={"email_only": "1"})
    client.post(f"/admin/members/{member_id}/active", data={"active": "0"})
    user = accounts.get_user(session, member_id)
    assert user.is_admin and user.email_only and not user.active
    session.commit()
    client.post(f"/admin/members/{member_id}/active", data={"active": "1"})
    session.expire_all()
    assert accounts.get_user(session, member_id).active
    session.commit()


def test_csv_import_reports_bad_lines_in_words_and_reads_excel_shift_jis(client, session, auth):
    _admin(session, auth)
    # Excel in Japan saves CSV as Shift_JIS (CP932); a name with a comma, unquoted, spills
    # into a cell the header does not have.
    csv_text = (
        "email,name,email_only,locale,role\n"
        "kato@corp.example,加藤 一郎,no,ja,member\n"
        "carter@corp.example,Carter, Emily,no,en,member\n"
        "mori@corp.example,森 二郎,maybe,ja,member\n"
        "ueda@corp.example,上田 三郎,no,fr,member\n"
        "ishii@corp.example,石井 四郎,no,ja,管理者\n"
        "noname@corp.example,,no,ja,member\n"
    )
    upload = (io.BytesIO(csv_text.encode("cp932")), "members.csv")
    preview = client.post(
        "/admin/members/import",
        data={"file": upload, "action": "preview"},
        content_type="multipart/form-data",
    )
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "加藤 一郎" in page and "✓" in page
    for words in (
        "put a name that holds a comma in double quotes",
        "email_only must be yes or no.",
        "The language (locale) must be ja or en.",
        "The role must be member or admin.",
        "The name is empty.",
    ):
        assert words in page
    assert page.count('class="row-error"') == 5 and page.count('class="row-ok"') == 1
    session.rollback()


def test_member_import_doctests() -> None:
    import doctest

    from hub.services import member_import

    assert doctest.testmod(member_import).failed == 0
