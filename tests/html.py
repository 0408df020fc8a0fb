"""Reading one element out of a page, so that an assertion about a task cannot be met by the rest of the page
(the status filter, for one, lists every status on every page)."""

from __future__ import annotations

from html.parser import HTMLParser

VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)


class _ElementFinder(HTMLParser):
    def __init__(self, element_id: str) -> None:
        super().__init__(convert_charrefs=False)
        self.element_id = element_id
        self.start: int | None = None
        self.end: int | None = None
        self.depth = 0
        self.lines = [0]

    def feed_page(self, page: str) -> None:
        # getpos() counts lines by "\n" only; keep each line's offset in the page.
        offset = 0
        for line in page.split("\n"):
            offset += len(line) + 1
            self.lines.append(offset)
        self.feed(page)
        self.close()

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.end is not None or tag in VOID_ELEMENTS:
            return
        if self.start is None:
            if dict(attrs).get("id") == self.element_id:
                self.start = self._offset()
                self.depth = 1
        else:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.start is None or self.end is not None or tag in VOID_ELEMENTS:
            return
        self.depth -= 1
        if self.depth == 0:
            self.end = self._offset() + len(f"</{tag}>")


def element_by_id(page: str, element_id: str) -> str:
    """The HTML of the element with this id, from its start tag to its end tag; fails when it is absent."""
    finder = _ElementFinder(element_id)
    finder.feed_page(page)
    assert finder.start is not None, f"no element with id {element_id!r} on the page"
    assert finder.end is not None, f"the element with id {element_id!r} is never closed"
    return page[finder.start : finder.end]


def task_row(page: str, task) -> str:
    """The task's row (`<li id="task-N">`) on a list page or in a refresh answer."""
    return element_by_id(page, f"task-{task.pk}")
