"""Print, for each file `make mutation` mutates, the share of its mutants that the tests kill.

Reads mutmut's results in mutants/<file>.meta. A mutant counts as killed when a test failed on it, or when it
made the tests run past mutmut's time limit (mutmut's own score counts both); a mutant no test reaches counts
as surviving. `.venv/bin/mutmut results` lists the survivors, `.venv/bin/mutmut show NAME` shows one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FILES = ("clones/client.py", "clones/forms.py", "clones/services.py")
KILLED = {1, 3, 24, -24, 36, 152, 255}  # a failing test, or a timeout
NOT_RUN = {None, 2, 34}  # not checked yet, interrupted, skipped


def main() -> int:
    print(f"{'file':<22} {'mutants':>8} {'killed':>8} {'share':>7}  not run")
    for name in FILES:
        meta = Path("mutants") / f"{name}.meta"
        if not meta.exists():
            print(f"{name:<22} no results (run `make mutation`)")
            continue
        codes = list(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"].values())
        tried = [code for code in codes if code not in NOT_RUN]
        killed = sum(code in KILLED for code in tried)
        share = f"{killed / len(tried):.0%}" if tried else "-"
        print(f"{name:<22} {len(tried):>8} {killed:>8} {share:>7}  {len(codes) - len(tried)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
