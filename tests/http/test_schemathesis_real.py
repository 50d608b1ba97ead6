"""Schemathesis over the OpenAPI document, against the real daemon (App, Mosquitto, a temporary
store) with a staff PIN, wrong-PIN limits and device pairing, with and without open reads, and a
held reservation on the floor (so every answer shape is exercised).

The daemon runs on 127.0.0.1 in a background thread with its own event loop (schemathesis calls
are synchronous); schemathesis runs as its CLI. tests/http/test_openapi.py runs it against the
daemon as a process too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from app_support import PIN, send
from support import run_schemathesis
from thread_server import ThreadServer

from floorlink.daemon.broker import EmbeddedBroker
from floorlink.daemon.engine import now_ms
from floorlink.daemon.http import HttpSettings

TOKEN = "staff-token-for-schemathesis"


@pytest.fixture(params=[False, True], ids=["token-reads", "open-reads"])
def server(
    request: pytest.FixtureRequest, tmp_path: Path, broker: EmbeddedBroker
) -> Iterator[ThreadServer]:
    settings = HttpSettings(
        staff_token=TOKEN, open_reads=request.param, staff_pin=PIN, pin_attempts_per_minute=3
    )
    with ThreadServer(tmp_path / "app", broker, settings) as s:
        soon = datetime.fromtimestamp(now_ms() / 1000 + 1200, UTC).isoformat(timespec="seconds")
        ito = {
            "id": "r-1", "status": "confirmed", "time": soon, "party_size": 4, "table": "2",
            "source": "online", "guest": {"name": "Ito"},
        }  # fmt: skip
        s.run(send(s.app, "cloud.pulled", now_ms(), {"reservations": [ito], "cursor": "c1"}))
        yield s


def test_the_http_layer_matches_its_document(server: ThreadServer, tmp_path: Path) -> None:
    result = run_schemathesis(server.url, TOKEN, tmp_path, 40, 7, "--workers", "1")
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
