"""Times as each person reads them: in their own zone, in one style on every page, the zone named."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, available_timezones

from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language

from clones.models import StaffPreference

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Fixed English abbreviations: Django's own ("Nov.") end in a full stop, which doubled up at a sentence's end.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_ZONE_NAME_LENGTH = 64


@functools.cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone this machine knows, sorted; read from disk once per process."""
    return tuple(sorted(available_timezones()))


@functools.cache
def _known_names() -> frozenset[str]:
    return frozenset(time_zone_names())


def is_time_zone_name(name: object) -> bool:
    """Whether name is a zone we can show times in (so that no stored or posted text can break a page)."""
    return isinstance(name, str) and 0 < len(name) <= MAX_ZONE_NAME_LENGTH and name in _known_names()


def zone_named(name: str) -> ZoneInfo | None:
    """The zone of this name, or None if the name is not one we know."""
    return ZoneInfo(name) if is_time_zone_name(name) else None


def zone_label(value: datetime) -> str:
    """The zone's abbreviation where it has a real one (CST, CET), else its offset (UTC+4, UTC-3:30)."""
    abbreviation = value.tzname() or ""
    if abbreviation and abbreviation[0].isalpha():
        return abbreviation
    return offset_label(value)


def offset_label(value: datetime) -> str:
    """The UTC offset in use at this moment: "UTC", "UTC+8", "UTC-3:30"."""
    minutes = int((value.utcoffset() or timedelta(0)).total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}:{minutes:02d}" if minutes else f"UTC{sign}{hours}"


def local_datetime(value: datetime | None) -> str:
    """ "26 Nov 2026, 18:36 CST" (English) or "2026年11月26日 18:36 CST" (Chinese), in the active zone."""
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    clock = f"{local:%H:%M}"
    label = zone_label(local) if timezone.is_aware(local) else ""
    if (get_language() or "").startswith("zh"):
        text = f"{local.year}年{local.month}月{local.day}日 {clock}"
    else:
        text = f"{local.day} {MONTHS[local.month - 1]} {local.year}, {clock}"
    return f"{text} {label}" if label else text


def iso_datetime(value: datetime | None) -> str:
    """ISO 8601 to the second with the active zone's offset: 2026-11-26T18:36:00+08:00."""
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return local.isoformat(timespec="seconds")


# The person's stored zone name ("" when none is stored), kept in the session so that it is read once.
SESSION_KEY = "_time_zone"


def stored_time_zone_name(user: AbstractBaseUser) -> str:
    """The zone name this person stored, or ""."""
    return StaffPreference.objects.filter(user=user).values_list("time_zone", flat=True).first() or ""


def time_zone_store(*, user: AbstractBaseUser, name: str, only_if_unset: bool = False) -> str:
    """Store the person's zone and return the one now stored.

    only_if_unset: the browser's report (timezone.js) never overrides a zone the person picked, even when two
    tabs report at once.
    """
    if not is_time_zone_name(name):
        raise ValueError(f"unknown time zone {name!r}")
    with transaction.atomic():
        preference, _created = StaffPreference.objects.select_for_update().get_or_create(user=user)
        if only_if_unset and is_time_zone_name(preference.time_zone):
            return preference.time_zone
        if preference.time_zone != name:
            preference.time_zone = name
            preference.save(update_fields=["time_zone"])
    return name


def zone_of(user: AbstractBaseUser | None) -> ZoneInfo | None:
    """The zone this person stored, for what is written outside a request (an email); None if none."""
    return zone_named(stored_time_zone_name(user)) if user is not None else None
