"""The sign-in form: Django's, plus a warning before the last tries that sign-in is about to pause."""

from __future__ import annotations

from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_credentials, get_failure_limit
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# The warning shows from this many tries left: early enough to stop and ask, late enough not to nag.
WARN_WITH_TRIES_LEFT = 2


class SignInForm(AuthenticationForm):
    """After a wrong password, says how many tries are left when few are (django-axes counts them)."""

    # Django's message says both fields "may be" case-sensitive and its Chinese says they "are": ours says
    # the same thing in both languages, and what to check.
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "Please enter a correct %(username)s and password. Both may be case-sensitive: check that "
            "Caps Lock is off."
        ),
    }

    tries_left: int | None = None
    pause: timedelta | None = None

    def __init__(self, *args, **kwargs) -> None:
        # No colon after the labels, as on every other form here (Django's Chinese colon is an ASCII one).
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict:
        try:
            return super().clean()
        except ValidationError:
            self._count_tries_left()
            raise

    def _count_tries_left(self) -> None:
        # Read after the failure: authenticate() has just had django-axes record it for this account and
        # address (AXES_LOCKOUT_PARAMETERS), so this is the count the next lock is decided on.
        if self.request is None:
            return
        credentials = get_credentials(self.cleaned_data.get("username"))
        failures = AxesProxyHandler.get_failures(self.request, credentials)
        tries_left = get_failure_limit(self.request, credentials) - failures
        if 0 < tries_left <= WARN_WITH_TRIES_LEFT:
            self.tries_left = tries_left
            self.pause = get_cool_off(self.request)
