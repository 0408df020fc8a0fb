"""create_staff: the only way, besides the admin, that an account comes to exist (there is no sign-up)."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

GOOD_PASSWORD = "violet lantern harbour 42"


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "password"
    path.write_text(GOOD_PASSWORD + "\n", encoding="utf-8")
    return path


def test_it_creates_a_staff_account_that_can_sign_in(db, password_file, client):
    call_command("create_staff", "ling", "--email", "ling@example.com", "--password-file", str(password_file))
    user = get_user_model().objects.get(username="ling")
    assert user.email == "ling@example.com"
    assert user.check_password(GOOD_PASSWORD)
    assert not user.is_staff and not user.is_superuser  # the studio, not the admin site
    response = client.post("/accounts/login/", {"username": "ling", "password": GOOD_PASSWORD})
    assert response.status_code == 302


def test_admin_makes_an_administrator(db, password_file):
    call_command("create_staff", "root-ling", "--admin", "--password-file", str(password_file))
    user = get_user_model().objects.get(username="root-ling")
    assert user.is_staff and user.is_superuser


def test_it_reads_the_password_from_the_environment_for_automation(db, monkeypatch):
    monkeypatch.setenv("STAFF_PASSWORD", GOOD_PASSWORD)
    call_command("create_staff", "ling", stdout=io.StringIO())
    assert get_user_model().objects.get(username="ling").check_password(GOOD_PASSWORD)


@pytest.mark.parametrize(
    ("password", "complaint"),
    [
        ("short1", "too short"),
        ("password123", "too common"),
        ("12345678901234", "entirely numeric"),
        ("ling-the-narrator", "too similar"),
    ],
)
def test_it_refuses_a_password_that_django_validators_refuse(db, monkeypatch, password, complaint):
    monkeypatch.setenv("STAFF_PASSWORD", password)
    with pytest.raises(CommandError, match=complaint):
        call_command("create_staff", "ling-the-narrator")
    assert not get_user_model().objects.filter(username="ling-the-narrator").exists()


def test_it_refuses_an_existing_username(staff_user, password_file):
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_staff", staff_user.username, "--password-file", str(password_file))


def test_it_refuses_an_invalid_username_or_email(db, password_file):
    with pytest.raises(CommandError):
        call_command("create_staff", "no spaces please", "--password-file", str(password_file))
    with pytest.raises(CommandError, match="not a valid email"):
        call_command("create_staff", "ling", "--email", "nope", "--password-file", str(password_file))


def test_without_a_terminal_or_a_password_source_it_says_how_to_give_one(db, monkeypatch):
    monkeypatch.delenv("STAFF_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(CommandError, match="--password-file"):
        call_command("create_staff", "ling")


def test_it_prompts_twice_and_asks_again_when_the_passwords_differ(db, monkeypatch):
    monkeypatch.delenv("STAFF_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    answers = iter(["first try 1234", "second try 5678", GOOD_PASSWORD, GOOD_PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    errors = io.StringIO()
    call_command("create_staff", "ling", stdout=io.StringIO(), stderr=errors)
    assert "differ" in errors.getvalue()
    assert get_user_model().objects.get(username="ling").check_password(GOOD_PASSWORD)
