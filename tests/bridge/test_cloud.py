"""The cloud bridge against a real local HTTP cloud: outages, crashes, cursors, dead letters."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_cloud import TOKEN, FakeCloud
from support import Daemon, Terminal

from floorlink.daemon.broker import EmbeddedBroker


@pytest.fixture
async def cloud() -> AsyncIterator[FakeCloud]:
    async with FakeCloud.running() as c:
        yield c


def cloud_daemon(tmp_path: Path, broker: EmbeddedBroker, cloud: FakeCloud, **kw: Any) -> Daemon:
    extra = (
        f'[cloud]\nurl = "{cloud.url}"\ntoken = "{TOKEN}"\n'
        "pull_interval_seconds = 0.5\ntimeout_seconds = 1\n"
    )
    return Daemon(tmp_path / "daemon", broker, extra=extra, **kw)


async def until(predicate: Any, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


def outbox(daemon: Daemon) -> list[tuple[str, str]]:
    db = sqlite3.connect(daemon.workdir / "floorlink.db")
    return db.execute(
        "SELECT key, state FROM outbox WHERE consumer = 'cloud' ORDER BY id"
    ).fetchall()


async def flood(pos: Terminal, n: int) -> list[str]:
    """n table changes: checks opened and voided in turn on 8 tables."""
    ids = []
    for i in range(n):
        table, round_ = i % 8 + 1, i // 8
        if round_ % 2 == 0:
            eid = await pos.send("check.opened", check=f"k{table}-{round_}", table=str(table))
        else:
            eid = await pos.send("check.voided", check=f"k{table}-{round_ - 1}")
        ids.append(eid)
    return ids


async def test_a_long_outage_drains_in_order_and_once(
    tmp_path: Path, broker: EmbeddedBroker, cloud: FakeCloud
) -> None:
    cloud.mode = "down"
    daemon = cloud_daemon(tmp_path, broker, cloud)
    daemon.start()
    try:
        async with Terminal(broker) as pos:
            ids = await flood(pos, 3200)
            for eid in ids[-5:]:
                assert (await pos.ack(eid, timeout=60))["result"] == "accepted"
            # the floor went on while the cloud was down
            await pos.wait(lambda: all(t["status"] == "available" for t in pos.tables.values()))
        status = daemon.get("/api/v1/status")
        assert status["cloud"] == "down" and status["ready"]
        assert len(cloud.events) == 0
        cloud.mode = "ok"
        await until(lambda: len(cloud.events) >= 3200, timeout=60)
        await asyncio.sleep(0.5)
        seqs = [cloud.events[i]["seq"] for i in cloud.order]
        assert seqs == sorted(seqs) and len(set(cloud.order)) == len(cloud.order) == 3200
        assert all(cloud.events[i]["type"] == "table.status" for i in cloud.order)
        assert all(state == "done" for _, state in outbox(daemon))
        assert cloud.unauthorized == 0
    finally:
        daemon.kill()


async def test_a_crash_mid_batch_loses_and_repeats_nothing(
    tmp_path: Path, broker: EmbeddedBroker, cloud: FakeCloud
) -> None:
    cloud.mode = "take_then_drop"  # the cloud takes the batch, the box never hears back
    daemon = cloud_daemon(tmp_path, broker, cloud)
    daemon.start()
    try:
        async with Terminal(broker) as pos:
            ids = await flood(pos, 40)
            await pos.ack(ids[-1])
        await until(lambda: cloud.batches >= 1)
        daemon.kill()  # dies with the batch taken but not marked delivered
        assert all(state == "pending" for _, state in outbox(daemon))
        cloud.mode = "ok"
        daemon.start()
        await until(lambda: all(state == "done" for _, state in outbox(daemon)))
        assert len(cloud.order) == len(set(cloud.order)) == 40
    finally:
        daemon.kill()


async def test_429_500_garbage_and_a_refused_event_do_not_block_the_queue(
    tmp_path: Path, broker: EmbeddedBroker, cloud: FakeCloud
) -> None:
    daemon = cloud_daemon(tmp_path, broker, cloud)
    daemon.start()
    try:
        async with Terminal(broker) as pos:
            for mode in ("429", "500", "drop", "slow"):
                cloud.mode = mode
                ids = await flood(pos, 8)
                await pos.ack(ids[-1])
                await asyncio.sleep(0.3)
            cloud.mode = "ok"
            # one event the cloud will never take: parked, the rest flows
            cloud.refuse = lambda e: (
                e["data"].get("table") == "3" and e["data"]["status"] == "seated"
            )
            ids = await flood(pos, 16)
            await pos.ack(ids[-1])
        await until(lambda: all(state in ("done", "dead") for _, state in outbox(daemon)))
        dead = [k for k, state in outbox(daemon) if state == "dead"]
        assert len(dead) >= 1
        assert len(cloud.order) == len(set(cloud.order)) == len(outbox(daemon)) - len(dead)
        await until(lambda: daemon.get("/api/v1/status")["outbox"]["cloud"]["dead"] == len(dead))
        metrics = daemon.get_text("/metrics")
        assert f'floorlink_outbox_dead{{consumer="cloud"}} {float(len(dead))}' in metrics
    finally:
        daemon.kill()


def res(
    rid: str, minutes: float, table: str | None, status: str = "confirmed", **kw: Any
) -> dict[str, Any]:
    at = (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat(timespec="seconds")
    guest = {
        "name": kw.pop("name", "Smith"),
        "vip": kw.pop("vip", False),
        "allergies": kw.pop("allergies", None),
        "notes": kw.pop("notes", None),
    }
    r = {
        "id": rid,
        "status": status,
        "time": at,
        "party_size": kw.pop("party_size", 4),
        "source": "online",
        "guest": guest,
        "updated_at": at,
    }
    if table:
        r["table"] = table
    return r | kw


async def test_pull_holds_tables_seats_reservations_and_resumes_from_the_cursor(
    tmp_path: Path, broker: EmbeddedBroker, cloud: FakeCloud
) -> None:
    cloud.add_reservation(**res("r-1", 10, "2", vip=True, allergies="shellfish", notes="window"))
    cloud.add_reservation(**res("r-2", 300, "4"))
    cloud.add_reservation(**res("r-3", 15, "5"))
    daemon = cloud_daemon(tmp_path, broker, cloud)
    daemon.start()
    try:
        async with Terminal(broker) as pos:
            await pos.table("2", "reserved")  # due within the 30 min window
            await pos.wait(lambda: "4" in pos.tables)  # its retained state may come after 2's
            assert pos.tables["4"]["status"] == "available"  # in 200 min: not yet
            upcoming = {r["id"]: r for r in daemon.get("/api/v1/reservations")}
            assert upcoming["r-1"]["held"] and "r-2" not in upcoming
            # the party arrives and the server opens a check on the held table
            await pos.client.subscribe("floorlink/v1/tables/+/guest", qos=1)
            await pos.send("check.opened", check="900", table="2", guests=4)
            seated = await pos.table("2", "seated")
            assert seated["party"]["reservation"] == "r-1" and seated["party"]["vip"] is True
            assert seated["party"]["name"] == "Smith"
            await pos.wait(lambda: bool(pos.guests.get("2")))
            guest = pos.guests["2"]
            assert guest is not None and guest["allergies"] == "shellfish"
            assert guest["requests"] == "window" and guest["vip"] is True
            await until(
                lambda: any(e["type"] == "reservation.seated" for e in cloud.events.values())
            )
            await pos.send("check.closed", check="900", total="150.00")
            await pos.table("2", "bussing")
            await pos.wait(lambda: pos.guests.get("2", 0) is None)  # cleared for the POS
            await until(
                lambda: any(e["type"] == "reservation.completed" for e in cloud.events.values())
            )
        asked_before = len(cloud.cursors_asked)
        daemon.stop()
        cloud.add_reservation(**res("r-4", 20, "6"))
        daemon.start()
        async with Terminal(broker) as pos:
            await pos.table("6", "reserved")
        after = cloud.cursors_asked[asked_before:]
        assert after and after[0] not in (None, "0")  # resumed from the stored cursor
    finally:
        daemon.kill()


async def test_a_walk_in_on_a_reserved_table_is_a_conflict_the_host_sees(
    tmp_path: Path, broker: EmbeddedBroker, cloud: FakeCloud
) -> None:
    daemon = cloud_daemon(tmp_path, broker, cloud)
    daemon.start()
    try:
        async with Terminal(broker) as pos:
            await pos.ack(await pos.send("check.opened", check="w1", table="3", guests=2))
        cloud.add_reservation(**res("r-730", 10, "3"))
        await until(lambda: bool(daemon.get("/api/v1/status")["conflicts"]))
        conflict = daemon.get("/api/v1/status")["conflicts"][0]
        assert conflict["kind"] == "table_taken" and conflict["table"] == "3"
        assert 'floorlink_conflicts_total{kind="table_taken"} 1.0' in daemon.get_text("/metrics")
        tables = {t["table"]: t for t in daemon.get("/api/v1/tables")}
        assert tables["3"]["status"] == "seated"  # the walk-in stays
    finally:
        daemon.kill()


async def test_a_cloud_answering_garbage_is_retried_and_the_floor_goes_on(
    tmp_path: Path, broker: EmbeddedBroker, cloud: FakeCloud
) -> None:
    cloud.mode = "garbage"
    cloud.add_reservation(**res("r-1", 10, "2"))
    daemon = cloud_daemon(tmp_path, broker, cloud)
    daemon.start()
    try:
        await until(lambda: daemon.get("/api/v1/status")["cloud"] == "down")
        async with Terminal(broker) as pos:
            await pos.ack(await pos.send("check.opened", check="g1", table="1"))
            await pos.table("1", "seated")
            cloud.mode = "ok"
            await pos.table("2", "reserved")
        assert daemon.get("/api/v1/status")["cloud"] == "ok"
        assert "the cloud answered garbage" in daemon.log.read_text()
    finally:
        daemon.kill()
