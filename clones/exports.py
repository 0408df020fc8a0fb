"""The task list as CSV: written row by row, so that a list of any length streams in constant memory."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime, tzinfo

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from clones import languages
from clones.models import Clip, CloneTask

# Excel takes a CSV file without a byte-order mark for the local code page (GBK, Windows-1252 …) and shows
# Chinese as mojibake; with the UTF-8 BOM it reads UTF-8. Other programs skip the mark.
UTF8_BOM = "\ufeff"
# A cell starting with one of these is run as a formula by spreadsheet programs ("CSV injection"): a name
# such as "=HYPERLINK(…)" typed by one person must not act on another's machine.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_QUERY = 2000


class _Line:
    """A file-like object whose write() hands back the line csv.writer produced."""

    def write(self, value: str) -> str:
        return value


def clip_header() -> list[str]:
    """The clip's columns (issue 11), in the reader's language: where it came from, its length, its speech."""
    return [_("Clip source"), _("Clip name"), _("Clip seconds"), _("Speech seconds")]


def csv_rows(
    tasks: QuerySet[CloneTask], *, header: list[str], status_labels: dict[str, str]
) -> Iterator[str]:
    """The BOM and header, then one CSV line per task read in chunks; times in the reader's zone."""
    # Taken now, while the reader's zone and language are active: the lines are written after the view, and
    # the middleware that activates them, have returned. Languages by the names the pages show ("Cantonese",
    # "粤语"), not the service's values ("Chinese,Yue").
    return _lines(
        tasks,
        header=header,
        status_labels=status_labels,
        language_labels=languages.labels(),
        source_labels={value: str(label) for value, label in Clip.Source.choices},
        zone=timezone.get_current_timezone(),
    )


def _lines(
    tasks: QuerySet[CloneTask],
    *,
    header: list[str],
    status_labels: dict[str, str],
    language_labels: dict[str, str],
    source_labels: dict[str, str],
    zone: tzinfo,
) -> Iterator[str]:
    writer = _SafeWriter()
    yield UTF8_BOM + writer.writerow(header)
    for task in tasks.iterator(chunk_size=ROWS_PER_QUERY):
        cells = _cells(task, status_labels, language_labels, zone)
        yield writer.writerow([*cells, *_clip_cells(task, source_labels)])


class _SafeWriter:
    """csv.writer that defuses every cell it writes: no column can be forgotten, today's or a future one."""

    def __init__(self) -> None:
        self._writer = csv.writer(_Line())

    def writerow(self, cells: Iterable[str]) -> str:
        return self._writer.writerow([_safe(cell) for cell in cells])


def _cells(
    task: CloneTask, status_labels: dict[str, str], language_labels: dict[str, str], zone: tzinfo
) -> Iterable[str]:
    expires_at = task.model_id_expires_at
    submitter = task.submitted_by.get_username() if task.submitted_by else ""
    return [
        task.name,
        task.model_id,
        task.sound_version,
        language_labels.get(task.language, task.language),
        status_labels.get(task.status, task.status),
        submitter,
        _timestamp(task.created_at, zone),
        _timestamp(expires_at, zone) if expires_at else "",
        task.file_url,
    ]


def _clip_cells(task: CloneTask, source_labels: dict[str, str]) -> list[str]:
    """Where the clip came from ("A file"), its name, and the seconds its check measured (if any)."""
    # A task from before clips were checked has only its link: it came from a link all the same.
    source = task.clip_source or (Clip.Source.LINK if task.file_url else "")
    return [
        source_labels.get(source, source),
        task.clip_name or task.file_url,
        _seconds(task.clip_seconds),
        _seconds(task.clip_speech_seconds),
    ]


def _seconds(value: float | None) -> str:
    """Seconds to the tenth, with a dot whatever the language ("48.2"), so that spreadsheets sum them."""
    return "" if value is None else f"{value:.1f}"


def _timestamp(value: datetime, zone: tzinfo) -> str:
    """ISO 8601 to the second with the reader's offset (2026-11-26T18:36:00+08:00): unambiguous anywhere."""
    return timezone.localtime(value, zone).isoformat(timespec="seconds")


def _safe(value: str) -> str:
    """The cell as text a spreadsheet shows rather than runs (a leading apostrophe, as OWASP advises)."""
    value = str(value)
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
