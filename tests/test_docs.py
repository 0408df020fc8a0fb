"""The project keeps its own account of the service's contract, and the code points there, never outside."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    ROOT / "README.md",
    *(ROOT / "clones").rglob("*.py"),
    *(ROOT / "soundclone_site").rglob("*.py"),
    *(ROOT / "templates").rglob("*.html"),
    *(ROOT / "static" / "js").glob("*.js"),
    *(path for path in (ROOT / "tests").rglob("*.py") if path != Path(__file__).resolve()),
]


def test_no_file_cites_a_contract_outside_the_repository() -> None:
    outside = re.compile(r"/work/|(?<!docs/)\bshared/upstream-api\.md")

    citing = [
        str(path.relative_to(ROOT)) for path in SOURCES if outside.search(path.read_text(encoding="utf-8"))
    ]

    assert citing == []


def test_every_cited_document_exists_and_the_client_cites_the_contract() -> None:
    cited = {
        match
        for path in SOURCES
        for match in re.findall(r"\bdocs/[\w./-]+\.md", path.read_text(encoding="utf-8"))
    }

    assert "docs/upstream-api.md" in (ROOT / "clones" / "client.py").read_text(encoding="utf-8")
    assert [name for name in sorted(cited) if not (ROOT / name).is_file()] == []
