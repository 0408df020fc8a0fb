"""Staff change their own password from the header; the sign-in page says what to do when it is forgotten."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import PASSWORD

CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans,zh;q=0.9"}
NEW_PASSWORD = "a violet kettle sings at noon"


def change(
    client: Client, *, old: str = PASSWORD, new: str = NEW_PASSWORD, again: str | None = None, **headers
):
    return client.post(
        "/accounts/password/",
        {"old_password": old, "new_password1": new, "new_password2": new if again is None else again},
        **headers,
    )


def signs_in(username: str, password: str) -> bool:
    """Whether the sign-in page, in a fresh browser, lets this name and password in."""
    response = Client().post("/accounts/login/", {"username": username, "password": password})
    return response.status_code == 302 and response["Location"] == "/tasks/"


def test_every_page_links_to_changing_the_password_for_someone_signed_in(staff_client):
    page = staff_client.get("/tasks/").content.decode()
    assert '<a href="/accounts/password/">Change password</a>' in page


def test_someone_signed_out_is_sent_to_sign_in_first(anonymous_client):
    response = anonymous_client.get("/accounts/password/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/password/"
    assert "Change password" not in anonymous_client.get("/accounts/login/").content.decode()


def test_staff_change_their_password_stay_signed_in_and_sign_in_with_the_new_one_later(
    staff_client, staff_user
):
    form = staff_client.get("/accounts/password/").content.decode()
    assert "<h1>Change password</h1>" in form
    assert 'class="site-header"' in form
    for label in ("Old password", "New password", "New password confirmation"):
        assert f">{label}</label>" in form

    response = change(staff_client)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/done/"
    done = staff_client.get("/accounts/password/done/").content.decode()
    assert "<h1>Password changed</h1>" in done
    assert 'href="/tasks/">Back to the voices</a>' in done
    # Still signed in here.
    assert staff_client.get("/tasks/").status_code == 200

    assert not signs_in("mei", PASSWORD)
    assert signs_in("mei", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"old": "not my password"}, "Your old password was entered incorrectly. Please enter it again."),
        ({"again": "a different kettle"}, "The two password fields didn’t match."),
        ({"new": "12345678"}, "This password is too common."),
    ],
)
def test_a_wrong_old_password_or_a_weak_or_mismatched_new_one_changes_nothing(
    staff_client, staff_user, fields, message
):
    response = change(staff_client, **fields)
    assert response.status_code == 200
    page = response.content.decode()
    assert message.replace("’", "&#x27;") in page or message in page
    assert "data-error-summary" in page
    staff_user.refresh_from_db()
    assert staff_user.check_password(PASSWORD)


def test_changing_the_password_reads_in_chinese_for_a_chinese_reader(staff_client, staff_user):
    form = staff_client.get("/accounts/password/", **CHINESE).content.decode()
    assert "<h1>修改密码</h1>" in form
    assert ">旧密码</label>" in form
    assert "您在此处仍保持登录" in form
    change(staff_client, **CHINESE)
    done = staff_client.get("/accounts/password/done/", **CHINESE).content.decode()
    assert "<h1>密码已修改</h1>" in done
    assert "下次登录时请使用新密码。" in done


def test_the_sign_in_page_says_what_to_do_when_the_password_is_forgotten(anonymous_client):
    page = anonymous_client.get("/accounts/login/").content.decode()
    assert "Forgot your password?" in page
    assert "Ask your administrator to set a new password for you." in page
    assert "<code>python manage.py changepassword &lt;username&gt;</code>" in page


def test_the_sign_in_page_says_it_in_chinese_for_a_chinese_reader(anonymous_client):
    page = anonymous_client.get("/accounts/login/", **CHINESE).content.decode()
    assert "忘记密码？" in page
    assert "请让管理员为您设置新密码。" in page
