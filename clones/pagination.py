"""Pages of a long list that cost the same however long the list grows."""

from __future__ import annotations

import math

from django.db.models import QuerySet

# No list is this long; a larger number in a hand-edited URL would overflow the database's integers.
MAX_PAGE_NUMBER = 1_000_000
# Beyond this many matches the list says "more than 1,000" instead of counting on: a count walks every
# matching row, and a search over 100,000 tasks must not pay for that on every page.
COUNT_LIMIT = 1000


class ListPage:
    """One page of a queryset, read as LIMIT per_page + 1 (the extra row says whether a next page exists).

    Django's Paginator counts the whole list on every page; this counts at most COUNT_LIMIT + 1 rows, so
    both queries stay small when the list has 100,000 tasks. Pages are numbered from 1.
    """

    def __init__(self, queryset: QuerySet, number: str | int | None, *, per_page: int) -> None:
        self.per_page = per_page
        self.number = _page_number(number)
        offset = (self.number - 1) * per_page
        rows = list(queryset[offset : offset + per_page + 1])
        self.has_next = len(rows) > per_page
        self.object_list = rows[:per_page]
        self.has_previous = self.number > 1
        # COUNT(*) over a LIMITed subquery: stops after COUNT_LIMIT + 1 rows.
        self.count_up_to_limit = queryset.order_by()[: COUNT_LIMIT + 1].count()

    @property
    def is_count_exact(self) -> bool:
        return self.count_up_to_limit <= COUNT_LIMIT

    @property
    def count(self) -> int:
        """How many rows match, up to COUNT_LIMIT (see is_count_exact)."""
        return min(self.count_up_to_limit, COUNT_LIMIT)

    @property
    def num_pages(self) -> int | None:
        """How many pages there are, when the count is exact; None when there are too many to count."""
        if not self.is_count_exact:
            return None
        return max(math.ceil(self.count / self.per_page), 1)

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.object_list else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.object_list)

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def _page_number(value: str | int | None) -> int:
    """A page number from the URL; anything that is not a positive whole number means the first page."""
    try:
        number = int(value or 1)
    except (TypeError, ValueError):
        return 1
    return min(number, MAX_PAGE_NUMBER) if number >= 1 else 1
