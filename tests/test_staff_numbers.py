"""Staff numbers (工号, SPEC §1): the admin pages, the API, the command line and the demo.

What an administrator notices: the number is kept as the college writes it (trimmed,
upper-cased), one number names one person, and every refusal says so on the field —
also when two administrators save the same number at the same moment.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from exchange.accounts import services
from exchange.accounts.models import User
from exchange.errors import ValidationError
from exchange.extensions import db
from tests.concurrency import no_crashes, race, report
from tests.helpers import API, FormPage, refused
from tests.test_admin_users_pages import form_data

TAKEN = "Another account already has this staff number."
FORMAT = "Use Latin letters, digits, - and / only, starting and ending with a letter or digit."


def staff_number_of(user_id: int) -> str | None:
    db.session.expire_all()
    return db.session.execute(select(User.staff_number).where(User.id == user_id)).scalar_one()


def user_named(name: str) -> User:
    return db.session.execute(select(User).where(User.name == name)).scalar_one()


def user_count() -> int:
    return db.session.execute(select(func.count()).select_from(User)).scalar_one()


@pytest.fixture
def admin(make_user):
    return make_user("admin", name="Admin Wang")


@pytest.fixture
def as_admin(admin, api_token):
    return api_token(admin)


# --- the admin pages -------------------------------------------------------------------------


def test_admin_gives_a_new_teacher_a_staff_number(client, admin, login_as, make_department):
    department = make_department(name="Nursing")
    login_as(admin)
    data = form_data(name="Zhao Min", department_id=str(department.id), staff_number=" t2019-034 ")
    response = client.post("/admin/users/new", data=data, follow_redirects=True)
    assert response.request.path == "/admin/users/"
    html = response.get_data(as_text=True)
    assert "T2019-034" in html  # the list shows it
    # Stored as the college writes it: trimmed, upper-cased.
    assert user_named("Zhao Min").staff_number == "T2019-034"

    found = client.get("/admin/users/?q=2019-0").get_data(as_text=True)
    assert f'href="/admin/users/{user_named("Zhao Min").id}"' in found  # found by number
    assert f'href="/admin/users/{admin.id}"' not in found


def test_the_form_shows_the_number_and_an_empty_field_clears_it(client, admin, login_as, make_user):
    teacher = make_user("teacher", name="Li Wei")
    teacher.staff_number = "T2019034"
    db.session.commit()
    login_as(admin)
    page = FormPage(client.get(f"/admin/users/{teacher.id}").get_data(as_text=True))
    assert page.values["staff_number"] == "T2019034"

    # Saving unchanged keeps it: one's own number is not "taken".
    assert client.post(f"/admin/users/{teacher.id}", data={
        **form_data(teacher), "staff_number": "T2019034"
    }).status_code == 302  # fmt: skip
    assert staff_number_of(teacher.id) == "T2019034"

    response = client.post(
        f"/admin/users/{teacher.id}", data={**form_data(teacher), "staff_number": "   "}
    )
    assert response.status_code == 302
    assert staff_number_of(teacher.id) is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("t2019034", TAKEN),  # the same number in other letters is the same number
        (" T2019034 ", TAKEN),
        ("T" * 33, "At most 32 characters."),
        ("T2019 034", FORMAT),
        ("T2019;034", FORMAT),
        ('=HYPERLINK("http://x")', FORMAT),
        ("-T2019034", FORMAT),
        ("T2019034/", FORMAT),
        ("Ｔ２０１９０３４", FORMAT),  # full-width: looks like T2019034, is not
        ("ſ2019034", FORMAT),  # upper-cases to "S2019034": refused before that
        ("工号2019", FORMAT),
    ],
)
def test_a_refused_number_is_named_on_its_field_and_nothing_is_stored(
    client, admin, login_as, make_user, make_department, typed, message
):
    holder = make_user("teacher", name="Li Wei")
    holder.staff_number = "T2019034"
    db.session.commit()
    login_as(admin)
    before = user_count()
    data = form_data(department_id=str(make_department().id), staff_number=typed)
    page = refused(client, "/admin/users/new", data)
    assert page.errors["staff_number"] == message
    assert page.values["staff_number"] == typed  # what was typed is still there
    assert user_count() == before


def test_a_number_of_exactly_32_characters_is_kept(client, admin, login_as, make_department):
    login_as(admin)
    number = "HR/" + "0123456789" * 2 + "-ABCDEFGH"
    assert len(number) == 32
    data = form_data(name="Long Number", department_id=str(make_department().id),
                     staff_number=number)  # fmt: skip
    assert client.post("/admin/users/new", data=data).status_code == 302
    assert user_named("Long Number").staff_number == number


def test_editing_cannot_take_another_persons_number(client, admin, login_as, make_user):
    holder = make_user("teacher", name="Li Wei")
    holder.staff_number = "T2019034"
    other = make_user("teacher", name="Zhao Lei")
    db.session.commit()
    login_as(admin)
    page = refused(
        client, f"/admin/users/{other.id}", {**form_data(other), "staff_number": "T2019034"}
    )
    assert page.errors["staff_number"] == TAKEN
    assert staff_number_of(other.id) is None
    assert staff_number_of(holder.id) == "T2019034"


@pytest.mark.parametrize("role", ["teacher", "expert", "head"])
def test_only_admins_set_staff_numbers(client, make_user, login_as, api_token, role):
    person = make_user(role)
    victim = make_user("teacher", name="Li Wei")
    login_as(person)
    assert client.get("/admin/users/new").status_code == 403
    tampered = {**form_data(victim), "staff_number": "T0000001"}
    assert client.post(f"/admin/users/{victim.id}", data=tampered).status_code == 403
    assert client.post(f"/admin/users/{person.id}", data=tampered).status_code == 403
    headers = api_token(person)
    response = client.patch(
        f"{API}/users/{person.id}", headers=headers, json={"staff_number": "T0000001"}
    )
    assert response.status_code == 403
    assert staff_number_of(person.id) is None
    assert staff_number_of(victim.id) is None


# --- the API ---------------------------------------------------------------------------------


def test_the_user_resource_carries_the_staff_number(client, as_admin, make_department):
    department = make_department()
    body = {
        "email": "wang.fang@example.com",
        "name": "Wang Fang",
        "role": "teacher",
        "password": "a-good-password",
        "department_id": department.id,
        "staff_number": "t2019034",
    }
    response = client.post(f"{API}/users", headers=as_admin, json=body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["staff_number"] == "T2019034"
    url = f"{API}/users/{created['id']}"
    assert client.get(url, headers=as_admin).get_json()["staff_number"] == "T2019034"
    listed = client.get(f"{API}/users?q=2019034", headers=as_admin).get_json()
    assert [u["id"] for u in listed["items"]] == [created["id"]]

    # PATCH without it keeps it; with a value changes it; null or "" clears it.
    renamed = client.patch(url, headers=as_admin, json={"name": "Wang Fang (Dr.)"}).get_json()
    assert renamed["staff_number"] == "T2019034"
    changed = client.patch(url, headers=as_admin, json={"staff_number": "T2020/001"})
    assert changed.get_json()["staff_number"] == "T2020/001"
    for cleared in (None, "", "  "):
        client.patch(url, headers=as_admin, json={"staff_number": "T2020/001"})
        response = client.patch(url, headers=as_admin, json={"staff_number": cleared})
        assert response.status_code == 200
        assert response.get_json()["staff_number"] is None


def test_me_shows_ones_own_staff_number(client, make_user, api_token):
    teacher = make_user("teacher")
    teacher.staff_number = "T2019034"
    db.session.commit()
    assert client.get(f"{API}/me", headers=api_token(teacher)).get_json()["staff_number"] == (
        "T2019034"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("T2019034", TAKEN),
        ("t2019034", TAKEN),
        ("T" * 33, "At most 32 characters."),
        ("T 2019", FORMAT),
        ("+T2019", FORMAT),
        (2019034, "Must be a string."),
        (["T2019034"], "Must be a string."),
        ({"number": "T1"}, "Must be a string."),
        (True, "Must be a string."),
        ("T2019\x00034", "Contains characters that are not allowed."),
        ("T2019\ud800", "Contains characters that are not allowed."),
    ],
)
def test_the_api_refuses_a_bad_or_taken_number_with_422_on_the_field(
    client, as_admin, make_user, make_department, value, message
):
    holder = make_user("teacher")
    holder.staff_number = "T2019034"
    db.session.commit()
    before = user_count()
    body = {
        "email": "new@example.com",
        "name": "New Person",
        "role": "teacher",
        "password": "a-good-password",
        "department_id": make_department().id,
        "staff_number": value,
    }
    response = client.post(f"{API}/users", headers=as_admin, json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["staff_number"] == message
    assert user_count() == before

    other = make_user("teacher")
    response = client.patch(
        f"{API}/users/{other.id}", headers=as_admin, json={"staff_number": value}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["staff_number"] == message
    assert staff_number_of(other.id) is None


def test_the_openapi_description_names_the_field(client):
    schemas = client.get(f"{API}/openapi.json").get_json()["components"]["schemas"]
    for name in ("User", "UserInput", "UserPatch"):
        field = schemas[name]["properties"]["staff_number"]
        assert {"type": "null"} in field["anyOf"], name
    assert "staff_number" in schemas["User"]["required"]
    assert "staff_number" not in schemas["UserInput"]["required"]


# --- two administrators at once ---------------------------------------------------------------


def _both_checks_pass(monkeypatch) -> None:
    """As when two admins press Save at the same moment: each check reads before the
    other's write, so both find the number free."""
    monkeypatch.setattr(services, "find_user_by_staff_number", lambda _number: None)


def test_a_number_taken_after_the_check_is_still_a_field_error(
    client, admin, login_as, as_admin, make_user, make_department, monkeypatch
):
    holder = make_user("teacher", name="Li Wei")
    holder.staff_number = "T2019034"
    other = make_user("teacher", name="Zhao Lei")
    db.session.commit()
    department = make_department()
    _both_checks_pass(monkeypatch)

    # The service: the unique constraint refuses, the loser hears which field.
    data = services.UserInput(
        email="late@example.com", name="Late", role="teacher", department_id=department.id,
        password="a-good-password", staff_number="T2019034",
    )  # fmt: skip
    with pytest.raises(ValidationError) as refusal:
        services.create_user(admin, data)
    assert refusal.value.fields == {"staff_number": TAKEN}
    db.session.rollback()

    # The API: 422 on the field, not a 409 or a 500; for an edit too.
    response = client.patch(
        f"{API}/users/{other.id}", headers=as_admin, json={"staff_number": "T2019034"}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"staff_number": TAKEN}

    # The page: the form again, the message on the field.
    login_as(admin)
    page = refused(
        client,
        "/admin/users/new",
        form_data(department_id=str(department.id), staff_number="T2019034"),
    )
    assert page.errors["staff_number"] == TAKEN
    assert staff_number_of(other.id) is None


def test_two_admins_saving_one_number_at_once_store_it_once(
    app, make_user, make_department, monkeypatch
):
    admins = [make_user("admin").id, make_user("admin").id]
    department_id = make_department().id
    db.session.close()
    _both_checks_pass(monkeypatch)

    def create(admin_id: int, n: int):
        def work(start):
            actor = db.session.get(User, admin_id)
            start()
            user = services.create_user(
                actor,
                services.UserInput(
                    email=f"twin{n}@example.com", name=f"Twin {n}", role="teacher",
                    department_id=department_id, password="a-good-password",
                    staff_number="T2019034",
                ),
            )  # fmt: skip
            db.session.commit()
            return user.id

        return work

    outcomes = race(app, [create(admin_id, n) for n, admin_id in enumerate(admins)])

    no_crashes(outcomes)
    winners = [o for o in outcomes if o.ok]
    losers = [o for o in outcomes if o.domain_error is not None]
    assert len(winners) == 1, report(outcomes)
    assert len(losers) == 1, report(outcomes)
    assert losers[0].domain_error.status == 422
    assert losers[0].domain_error.fields == {"staff_number": TAKEN}
    holders = db.session.execute(select(User.id).where(User.staff_number == "T2019034")).scalars()
    assert list(holders) == [winners[0].value]


# --- the command line and the demo ------------------------------------------------------------


def test_create_user_takes_a_staff_number(runner, app_ctx, make_department):
    make_department(code="CM")
    args = ["--name", "Li Na", "--role", "teacher", "--department", "CM",
            "--password", "s3cret-enough"]  # fmt: skip
    result = runner.invoke(
        args=["create-user", "--email", "li.na@example.com", *args, "--staff-number", "t2019034"]
    )
    assert result.exit_code == 0, result.output
    assert "staff number T2019034" in result.output
    assert user_named("Li Na").staff_number == "T2019034"

    again = runner.invoke(
        args=["create-user", "--email", "li.na2@example.com", *args, "--staff-number", "T2019034"]
    )
    assert again.exit_code != 0
    assert isinstance(again.exception, SystemExit)
    assert f"--staff-number: {TAKEN}" in again.output

    bad = runner.invoke(
        args=["create-user", "--email", "li.na3@example.com", *args, "--staff-number", "=1+1"]
    )
    assert bad.exit_code != 0
    assert "--staff-number: Use Latin letters" in bad.output

    none = runner.invoke(args=["create-user", "--email", "li.na4@example.com", *args])
    assert none.exit_code == 0, none.output
    assert (
        db.session.execute(
            select(User.staff_number).where(User.email == "li.na4@example.com")
        ).scalar_one()
        is None
    )


def test_the_demo_college_has_believable_staff_numbers(demo_college):
    people = db.session.execute(select(User)).scalars().all()
    numbers = [u.staff_number for u in people if u.staff_number]
    assert len(numbers) == len(set(numbers))
    for user in people:
        if user.role in ("teacher", "head"):
            assert (user.staff_number or "").startswith("T"), user
            assert user.staff_number[1:].isdigit()
        elif user.role == "admin":
            assert (user.staff_number or "").startswith("A"), user
    experts = [u for u in people if u.role == "expert"]
    hospital = [u for u in experts if u.enterprise.kind == "hospital"]
    assert hospital
    assert all(u.staff_number.startswith(u.enterprise.code + "-") for u in hospital)
    assert all(u.staff_number is None for u in experts if u.enterprise.kind != "hospital")
