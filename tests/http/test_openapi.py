"""Schemathesis drives the real daemon's API from its own OpenAPI document.

It runs as its own CLI against the daemon on loopback (its pytest plugin does not load under
pytest 9): every operation, generated bodies and parameters, every check.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from support import STAFF_TOKEN, Daemon


def test_api_matches_its_openapi_document(daemon: Daemon, tmp_path: Path) -> None:
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    result = subprocess.run(
        [
            cli,
            "run",
            f"{daemon.url}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {STAFF_TOKEN}",
            "--checks",
            "all",
            # Its stateful phase reads a 404 for an unknown *table* in the body of
            # /waitlist/{id}/seat as "the entry just created is missing"; it is not.
            "--exclude-checks",
            "ensure_resource_availability",
            "--max-examples",
            "30",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
