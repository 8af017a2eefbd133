"""Administration pages for users.

What an administrator notices: accounts really created and changed, every
refusal shown on its field with what was typed still there, and a deactivated
person signed out at once and unable to sign in again.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from exchange.accounts.models import User
from exchange.extensions import db
from tests.conftest import PASSWORD
from tests.helpers import FormPage, refused


def user_count() -> int:
    return db.session.execute(select(func.count()).select_from(User)).scalar_one()


def form_data(user: User | None = None, **changes: str | None) -> dict[str, str]:
    """What the user form posts; ``active`` is sent only when ticked, as a browser does."""
    data = {
        "email": user.email if user else "new.teacher@example.com",
        "name": user.name if user else "New Teacher",
        "role": user.role if user else "teacher",
        "department_id": str(user.department_id or "") if user else "",
        "enterprise_id": str(user.enterprise_id or "") if user else "",
        "locale": "",
        "password": "" if user else "long-enough-1",
        "active": "y",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


@pytest.fixture
def admin(make_user, login_as):
    user = make_user("admin", name="Admin Wang")
    login_as(user)
    return user


def test_admin_creates_a_teacher_who_can_sign_in(app, client, admin, make_department):
    department = make_department(name="Nursing")
    data = form_data(
        email="Zhao.Min@Example.COM", name="Zhao Min", department_id=str(department.id)
    )
    response = client.post("/admin/users/new", data=data, follow_redirects=True)
    assert response.request.path == "/admin/users/"
    assert "User Zhao Min created." in response.get_data(as_text=True)

    user = db.session.execute(select(User).where(User.name == "Zhao Min")).scalar_one()
    assert (user.email, user.role, user.department_id) == (
        "zhao.min@example.com",
        "teacher",
        department.id,
    )
    assert user.active
    other = app.test_client()
    response = other.post(
        "/login", data={"email": "zhao.min@example.com", "password": "long-enough-1"}
    )
    assert response.status_code == 302


def test_admin_creates_an_expert(client, admin, make_enterprise):
    enterprise = make_enterprise()
    data = form_data(role="expert", enterprise_id=str(enterprise.id))
    assert client.post("/admin/users/new", data=data).status_code == 302
    user = db.session.execute(select(User).where(User.role == "expert")).scalar_one()
    assert (user.enterprise_id, user.department_id) == (enterprise.id, None)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"email": "LI.WEI@example.com"},
            "email",
            "Another account already uses this e-mail address.",
        ),
        ({"email": "not-an-address"}, "email", "Enter a valid e-mail address."),
        ({"department_id": ""}, "department_id", "Teachers and heads belong to a department."),
        (
            {"role": "head", "department_id": ""},
            "department_id",
            "Teachers and heads belong to a department.",
        ),
        ({"role": "expert"}, "enterprise_id", "Experts belong to an enterprise."),
        ({"department_id": "4242"}, "department_id", "Choose one of the offered values."),
        ({"password": "short"}, "password", "At least 8 characters."),
        ({"password": ""}, "password", "At least 8 characters."),
        ({"role": "superuser"}, "role", "Not a valid choice."),
    ],
)
def test_user_form_shows_the_refusal(
    client, admin, make_user, make_department, changes, field, message
):
    make_user("teacher", email="li.wei@example.com")
    department = make_department()
    data = form_data(**{"department_id": str(department.id), **changes})
    page = refused(client, "/admin/users/new", data)
    assert page.errors == {field: message}
    assert page.values["email"] == data["email"]
    assert page.values["name"] == data["name"]
    if field != "role":
        assert page.values["role"] == data["role"]
    assert not page.values["password"]  # a password is never sent back
    assert user_count() == 2


def test_admin_edits_another_user(client, admin, make_user, make_enterprise):
    teacher = make_user("teacher", name="Li Wei")
    enterprise = make_enterprise()
    page = FormPage(client.get(f"/admin/users/{teacher.id}").get_data(as_text=True))
    assert page.values["email"] == teacher.email
    assert page.values["role"] == "teacher"

    data = form_data(
        teacher, name="Li Wei (expert)", role="expert", enterprise_id=str(enterprise.id)
    )
    response = client.post(f"/admin/users/{teacher.id}", data=data)
    assert response.status_code == 302
    assert (teacher.name, teacher.role, teacher.enterprise_id, teacher.department_id) == (
        "Li Wei (expert)",
        "expert",
        enterprise.id,
        None,
    )
    assert teacher.check_password(PASSWORD)  # an empty password field keeps the password


def test_editing_to_another_users_email_is_refused(client, admin, make_user):
    make_user("teacher", email="taken@example.com")
    teacher = make_user("teacher")
    page = refused(
        client, f"/admin/users/{teacher.id}", form_data(teacher, email="Taken@Example.com")
    )
    assert page.errors == {"email": "Another account already uses this e-mail address."}
    assert page.values["email"] == "Taken@Example.com"


def test_admin_cannot_deactivate_themselves(client, admin):
    page = refused(client, f"/admin/users/{admin.id}", form_data(admin, active=None))
    assert page.errors == {"active": "You cannot remove your own administrator access."}
    assert page.values["active"] is False  # what was sent stays on screen
    assert admin.active
    assert client.get("/admin/users/").status_code == 200


def test_admin_cannot_demote_themselves(client, admin, make_department):
    department = make_department()
    data = form_data(admin, role="head", department_id=str(department.id))
    page = refused(client, f"/admin/users/{admin.id}", data)
    assert page.errors == {"role": "You cannot remove your own administrator access."}
    assert page.values["role"] == "head"
    assert admin.role == "admin"


def test_deactivated_user_is_signed_out_and_cannot_sign_in(app, client, admin, make_user):
    teacher = make_user("teacher")
    teachers_phone = app.test_client()
    assert (
        teachers_phone.post(
            "/login", data={"email": teacher.email, "password": PASSWORD}
        ).status_code
        == 302
    )
    assert teachers_phone.get("/").status_code == 200

    response = client.post(f"/admin/users/{teacher.id}", data=form_data(teacher, active=None))
    assert response.status_code == 302
    assert not teacher.active

    response = teachers_phone.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    again = teachers_phone.post("/login", data={"email": teacher.email, "password": PASSWORD})
    assert again.status_code == 200
    assert "The e-mail address or password is not right." in again.get_data(as_text=True)

    listing = client.get("/admin/users/").get_data(as_text=True)
    assert "deactivated" in listing


def test_user_list_searches_filters_and_pages(app, client, admin, make_user, monkeypatch):
    make_user("teacher", name="Chen Jing", email="chen@example.com")
    make_user("expert", name="Dr Bauer", email="bauer@pharma.example.com")
    by_email = client.get("/admin/users/?q=PHARMA").get_data(as_text=True)
    assert "Dr Bauer" in by_email
    assert "Chen Jing" not in by_email
    by_role = client.get("/admin/users/?role=teacher").get_data(as_text=True)
    assert "Chen Jing" in by_role
    assert "Dr Bauer" not in by_role

    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    first = client.get("/admin/users/").get_data(as_text=True)
    second = client.get("/admin/users/?page=2").get_data(as_text=True)
    rows = [f"<strong>{name}</strong>" for name in ("Admin Wang", "Chen Jing", "Dr Bauer")]
    assert rows[0] in first
    assert rows[1] in first
    assert rows[2] not in first
    assert rows[2] in second
    assert rows[0] not in second
    assert "Page 2 of 2" in second


def test_unknown_user_is_404(client, admin):
    assert client.get("/admin/users/4242").status_code == 404


def test_search_treats_wildcards_literally(client, make_user, login_as):
    login_as(make_user("admin", name="Admin"))
    make_user("teacher", name="Zhou 100% Sure")
    make_user("teacher", name="Zhou 1000 Cases")
    page = client.get("/admin/users/", query_string={"q": "100%"}).get_data(as_text=True)
    assert "Zhou 100% Sure" in page
    assert "Zhou 1000 Cases" not in page
