"""Create a staff account: there is no public sign-up, so an administrator makes every account."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

# For automation (a deploy script, a container secret): the password from the environment, never from argv,
# where every user of the machine could read it in the process list.
PASSWORD_ENV = "STAFF_PASSWORD"  # noqa: S105 - the variable's name, not a password
MAX_PROMPTS = 3
READ_STDIN = "-"


class Command(BaseCommand):
    help = (
        "Creates a staff account that can sign in to the studio; --admin also opens the admin site. "
        f"Prompts for the password, or reads it from --password-file or the {PASSWORD_ENV} variable."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="", help="The person's email address (optional).")
        parser.add_argument(
            "--admin",
            action="store_true",
            help="Make the account an administrator: the admin site, unlocking accounts, every task.",
        )
        parser.add_argument(
            "--password-file",
            help="Read the password from the first line of this file ('-' for standard input).",
        )

    def handle(
        self, *args, username: str, email: str, admin: bool, password_file: str | None, **options
    ) -> None:
        """Validate, ask for the password, and create the account."""
        user_model = get_user_model()
        username = username.strip()
        if not username:
            raise CommandError("The username must not be empty.")
        if user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).exists():
            raise CommandError(f"An account named {username!r} already exists; change it in the admin.")
        if email:
            try:
                validate_email(email)
            except ValidationError as exc:
                raise CommandError(f"{email!r} is not a valid email address.") from exc
        # The unsaved user lets the validators compare the password with the username and email.
        user = user_model(
            **{user_model.USERNAME_FIELD: username}, email=email, is_staff=admin, is_superuser=admin
        )
        try:
            # Checked before asking for a password, so that nobody types one for a name that cannot be used.
            user.full_clean(exclude=["password"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        user.set_password(self._password(user, password_file))
        user.save()
        kind = "administrator" if admin else "staff account"
        self.stdout.write(self.style.SUCCESS(f"Created {kind} {username!r}."))

    def _password(self, user, password_file: str | None) -> str:
        """The password from the file, the environment or the prompt, checked by Django's validators."""
        if password_file:
            try:
                text = (
                    sys.stdin.read()
                    if password_file == READ_STDIN
                    else Path(password_file).read_text(encoding="utf-8")
                )
            except OSError as exc:
                raise CommandError(f"Cannot read the password file: {exc.strerror}.") from exc
            return self._validated(text.splitlines()[0] if text.strip() else "", user)
        if os.environ.get(PASSWORD_ENV):
            return self._validated(os.environ[PASSWORD_ENV], user)
        if not sys.stdin.isatty():
            raise CommandError(
                f"No password given: run this in a terminal, or use --password-file or {PASSWORD_ENV}."
            )
        for _attempt in range(MAX_PROMPTS):
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("The two passwords differ. Try again.")
                continue
            try:
                return self._validated(password, user)
            except CommandError as exc:
                self.stderr.write(str(exc))
        raise CommandError("No acceptable password was given; no account was created.")

    def _validated(self, password: str, user) -> str:
        if not password:
            raise CommandError("The password must not be empty.")
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("The password is not accepted: " + " ".join(exc.messages)) from exc
        return password
