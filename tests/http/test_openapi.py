"""Schemathesis drives the real daemon's API from its own OpenAPI document.

It runs as its own CLI against the daemon on loopback (its pytest plugin does not load under
pytest 9): every operation, generated bodies and parameters, every check.
"""

from __future__ import annotations

from pathlib import Path

from support import STAFF_TOKEN, Daemon, run_schemathesis


def test_api_matches_its_openapi_document(daemon: Daemon, tmp_path: Path) -> None:
    result = run_schemathesis(daemon.url, STAFF_TOKEN, tmp_path, 30, 1)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
