"""Changing one's own password: Django's form and views, with labels written like the rest of the studio's."""

from __future__ import annotations

from django.contrib.auth import forms as auth_forms


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's password change form without the colon after each label, as on every other form here."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
