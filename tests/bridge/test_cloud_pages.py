"""Hardening item 9: cloud pages are taken row by row, a cursor that does not advance is backed
off, and a reservation that can never be held does not storm the timers. Against the loopback
cloud, with the real daemon."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fake_cloud import FakeCloud
from test_cloud import cloud_daemon, res, until

from floorlink.daemon.broker import EmbeddedBroker


@pytest.fixture
async def cloud() -> AsyncIterator[FakeCloud]:
    async with FakeCloud.running() as c:
        yield c


async def test_a_malformed_reservation_costs_only_itself(
    tmp_path: Path, broker: EmbeddedBroker, cloud: FakeCloud
) -> None:
    cloud.add_reservation(**res("r-good-1", 10, "2", name="Adaeze Okafor"))
    bad = res("r-bad", 10, "3", name="Margarethe Vollstedt")
    bad["party_size"] = "lots"  # malformed: the rest of the page must still arrive
    cloud.add_reservation(**bad)
    cloud.add_reservation(**res("r-good-2", 15, "4"))
    daemon = cloud_daemon(tmp_path, broker, cloud)
    daemon.start()
    try:
        await until(
            lambda: (
                {r["id"] for r in daemon.get("/api/v1/reservations")} >= {"r-good-1", "r-good-2"}
            )
        )
        assert "r-bad" not in {r["id"] for r in daemon.get("/api/v1/reservations")}
        assert "floorlink_cloud_rows_rejected_total 1.0" in daemon.get_text("/metrics")
        log = daemon.log.read_text()
        assert "reservation skipped" in log and "r-bad" in log
        assert "Vollstedt" not in log and "Okafor" not in log  # never the guest's name
    finally:
        daemon.kill()


async def test_a_cursor_that_does_not_advance_is_backed_off(
    tmp_path: Path, broker: EmbeddedBroker, cloud: FakeCloud
) -> None:
    cloud.add_reservation(**res("r-1", 30, "2"))
    cloud.mode = "stuck"
    daemon = cloud_daemon(tmp_path, broker, cloud)  # pull_interval_seconds = 0.5
    daemon.start()
    try:
        await until(
            lambda: "floorlink_cloud_cursor_stalled_total 3.0" in daemon.get_text("/metrics")
        )
        asked = len(cloud.cursors_asked)
        # Before: about 30 pulls a second. Backed off (doubling from 0.5 s), three stalls take
        # at least 0.5 + 1 + 2 s, with one or two requests each.
        assert asked <= 8, cloud.cursors_asked
        assert "cursor did not advance" in daemon.log.read_text()
    finally:
        daemon.kill()


async def test_a_reservation_that_can_never_be_held_does_not_storm(
    tmp_path: Path, broker: EmbeddedBroker, cloud: FakeCloud
) -> None:
    cloud.add_reservation(**res("r-ghost", 5, "99"))  # table 99 is not in this config
    cloud.add_reservation(**res("r-next", 10, "3"))
    daemon = cloud_daemon(tmp_path, broker, cloud)
    daemon.start()
    try:
        await until(lambda: any(t["status"] == "reserved" for t in daemon.get("/api/v1/tables")))
        assert daemon.stop() == 0
        db = sqlite3.connect(daemon.workdir / "floorlink.db")
        timers = db.execute(
            "SELECT count(*) FROM events WHERE source = 'timer' AND type LIKE 'reservations%'"
        ).fetchone()[0]
        refused = db.execute("SELECT count(*) FROM rejected WHERE source = 'timer'").fetchone()[0]
        # one timer to hold table 3; none for the ghost (before: 15-18 commits a second)
        assert timers <= 2 and refused <= 1, (timers, refused)
    finally:
        daemon.kill()
