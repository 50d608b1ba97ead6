"""Schemathesis over the OpenAPI document, against the HTTP layer on the in-memory floor.

The server runs on 127.0.0.1 in a background thread with its own event loop (schemathesis calls
are synchronous); schemathesis runs as its CLI. This covers what the real daemon's run cannot: a
staff PIN (so /session answers 200/401/429) and open reads (reads documented as token-optional).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_service import FakeFloor
from support import run_schemathesis
from thread_server import ThreadServer

from floorlink.daemon.http import HttpSettings

TOKEN = "staff-token-for-schemathesis"


@pytest.fixture(params=[False, True], ids=["token-reads", "open-reads"])
def server(request: pytest.FixtureRequest) -> Iterator[ThreadServer]:
    settings = HttpSettings(
        staff_token=TOKEN, open_reads=request.param, staff_pin="2468", pin_attempts_per_minute=3
    )
    floor = FakeFloor()
    floor.add_reservation(
        {
            "id": "r-1",
            "time": "2026-11-22T19:30:00-08:00",
            "party_size": 4,
            "name": "Ito",
            "vip": False,
            "table": "2",
            "status": "confirmed",
            "held": True,
        }
    )
    with ThreadServer(floor, settings) as s:
        yield s


def test_the_http_layer_matches_its_document(server: ThreadServer, tmp_path: Path) -> None:
    result = run_schemathesis(server.url, TOKEN, tmp_path, 40, 7, "--workers", "1")
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
