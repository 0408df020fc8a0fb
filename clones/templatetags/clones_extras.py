import json
from datetime import datetime, timedelta

from django import template
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clones import local_time, rows
from clones.models import CloneTask, duration_text

register = template.Library()


@register.filter
def duration_words(value: timedelta | None) -> str:
    """A short, human duration: "45 s", "3 min 20 s", "2 h 5 min", "3 days 4 h"."""
    if value is None:
        return ""
    seconds = max(int(value.total_seconds()), 0)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return _("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": seconds}
    return _("%(seconds)d s") % {"seconds": seconds}


@register.filter
def clip_duration(seconds: float | None) -> str:
    """A clip's length or its speech, as the form's check says it: "48 s", "1 min 05 s"."""
    if seconds is None:
        return ""
    return duration_text(seconds)


@register.filter
def clip_position(seconds: float | None) -> str:
    """A moment in a clip, as a player shows it: "0:12", "1:05" (clips are at most 30 min long)."""
    if seconds is None:
        return ""
    whole = max(round(seconds), 0)
    return f"{whole // 60}:{whole % 60:02d}"


@register.filter
def time_left_words(value: timedelta | None) -> str:
    """How long is left, in words, to the minute: "2 days 4 hours", "5 hours 12 minutes", "12 minutes"."""
    if value is None:
        return ""
    seconds = max(int(value.total_seconds()), 0)
    if seconds < 60:
        return _("less than a minute")
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes = seconds // 60
    parts: list[str] = []
    if days:
        parts.append(ngettext("%(count)d day", "%(count)d days", days) % {"count": days})
        if hours:
            parts.append(ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours})
    elif hours:
        parts.append(ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours})
        if minutes:
            parts.append(ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes})
    else:
        parts.append(ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes})
    return " ".join(parts)


@register.filter
def can_be_changed_by(task: CloneTask, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether this user may change this task: the one rule, CloneTask.can_be_changed_by."""
    return task.can_be_changed_by(user)


@register.filter
def local_datetime(value: datetime | None) -> str:
    """Every date on every page, in the reader's zone: "26 Nov 2026, 18:36 CST" (English)."""
    return local_time.local_datetime(value)


@register.filter
def iso_datetime(value: datetime | None) -> str:
    """For <time datetime="…">: ISO 8601 with the reader's offset, 2026-11-26T18:36:00+08:00."""
    return local_time.iso_datetime(value)


@register.filter
def row_version(task: CloneTask) -> str:
    """The version of the task's row that the list's refresh compares (clones.rows.row_version)."""
    return rows.row_version(task)


@register.simple_tag
def duration_patterns() -> str:
    """duration_words' patterns in the page's language, as JSON: the list counts running times on."""
    patterns = {
        "days": _("%(days)d d %(hours)d h"),
        "hours": _("%(hours)d h %(minutes)d min"),
        "minutes": _("%(minutes)d min %(seconds)d s"),
        "seconds": _("%(seconds)d s"),
    }
    return json.dumps(patterns, ensure_ascii=False)
