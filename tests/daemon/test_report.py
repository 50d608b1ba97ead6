"""`floorlink report` over a real store written by the engine."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from floorlink.daemon.app import build_state
from floorlink.daemon.config import parse_config
from floorlink.daemon.core.state import Input
from floorlink.daemon.engine import Engine
from floorlink.daemon.report import service_report
from floorlink.daemon.store import Store


async def test_a_night_in_numbers(tmp_path: Path) -> None:
    config = parse_config(
        f'[site]\nid = "s"\ntimezone = "UTC"\n[store]\npath = "{tmp_path / "f.db"}"\n'
        '[http]\nstaff_token = "long-enough-token"\n'
        '[[tables]]\nid = "1"\nseats = 4\n[[tables]]\nid = "2"\nseats = 2\n',
        {},
    )
    engine = Engine(Store(config.store.path), lambda: build_state(config))
    await engine.open()
    runner = asyncio.create_task(engine.run())
    t0 = int(datetime(2026, 11, 20, 19, tzinfo=UTC).timestamp() * 1000)
    steps: list[tuple[str, int, dict[str, Any]]] = [
        ("check.opened", 0, {"check": "A", "table": "1", "guests": 4}),
        ("check.opened", 5, {"check": "B", "table": "2", "guests": 2}),
        ("check.closed", 80, {"check": "A", "total": "200.00", "tip": "40.00"}),
        ("check.closed", 65, {"check": "B", "total": "60.00"}),
        ("check.opened", 90, {"check": "C", "table": "1", "guests": 3}),
        ("check.voided", 91, {"check": "C"}),
    ]
    for n, (etype, minute, data) in enumerate(steps):
        await engine.submit(Input("pos:T", f"e{n}", etype, t0 + minute * 60_000, data))
    runner.cancel()
    await engine.close()
    report = service_report(config, datetime(2026, 11, 20).date())
    assert report["checks"] == 2 and report["voided"] == 1 and report["covers"] == 6
    assert report["revenue"] == "260.00" and report["average_check"] == "130.00"
    assert report["turns_per_table"] == 1.0
    # 260 over 6 seats and 80 minutes of service (counted as at least an hour): 260 / (6 * 1.33)
    assert report["revpash"] == "32.50"
    json.dumps(report)
