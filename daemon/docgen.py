"""`python -m floorlink.daemon.docgen` (or `make docs`): write the documents generated from code.

docs/table-rules.md from the core's rule tables (daemon/core/rules.py) and docs/events.md
from the event registry (daemon/core/events.py). The core does no
I/O, so the writing lives here; tests/contract/test_docs.py fails when a document is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from floorlink.daemon.core.events import catalogue
from floorlink.daemon.core.rules import render

ROOT = Path(__file__).resolve().parents[1]
GENERATED = {ROOT / "docs" / "table-rules.md": render, ROOT / "docs" / "events.md": catalogue}


def main() -> int:
    for path, make in GENERATED.items():
        path.write_text(make())
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
