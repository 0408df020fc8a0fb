"""The demo account `make run` creates in demo mode, and the check that keeps it out of production.

Demo mode prints a known password for an administrator. Setting the API key on the same data leaves that
account as it was, so outside demo mode the web server refuses to start while an account still has it
(`run_studio` and gunicorn's start, gunicorn.conf.py, both ask here).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.db import DatabaseError
from django.db.models import Q

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-voices"  # noqa: S105 - demo mode only, printed for the person who started it


class DemoPasswordInUse(RuntimeError):
    """An account that can sign in still has the demo password; the message says what to do."""


def ensure_demo_user() -> None:
    """Create the demo administrator unless an account of that name exists."""
    user_model = get_user_model()
    if not user_model.objects.filter(username=DEMO_USERNAME).exists():
        user_model.objects.create_user(
            DEMO_USERNAME, password=DEMO_PASSWORD, is_staff=True, is_superuser=True
        )


def accounts_with_demo_password() -> list[str]:
    """Usernames of active accounts that still sign in with the demo password.

    Checked: the demo account and the administrators (the demo account is one, and keeps its password when
    renamed). Not every account: each check hashes the password once, about 0.3 s in production.
    """
    user_model = get_user_model()
    try:
        candidates = list(
            user_model.objects.filter(is_active=True)
            .filter(Q(username=DEMO_USERNAME) | Q(is_superuser=True) | Q(is_staff=True))
            .order_by("pk")
        )
    except DatabaseError:
        return []  # no tables yet (migrate has not run): no account at all
    # The hashers' check_password, not the user's: it would re-hash and save the account on a match.
    return [user.get_username() for user in candidates if check_password(DEMO_PASSWORD, user.password)]


def refuse_demo_password() -> None:
    """Raise DemoPasswordInUse, with one plain sentence, while an account still has the demo password."""
    usernames = accounts_with_demo_password()
    if usernames:
        name = usernames[0]
        kind = "demo account" if name == DEMO_USERNAME else "account"
        raise DemoPasswordInUse(
            f'The {kind} "{name}" still has its demo password. Set a new one with '
            f"`python manage.py changepassword {name}`, or delete it, then start again."
        )
