def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Sign in" in response.data


def test_user_signs_in_and_sees_home(client, make_user, login_as):
    user = make_user("teacher", name="Li Wei")
    login_as(user)
    response = client.get("/")
    assert "Li Wei" in response.get_data(as_text=True)
