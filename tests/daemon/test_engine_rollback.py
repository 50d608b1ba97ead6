"""The state in memory changes only when the commit does (hardening issue): an input that cannot
be stored is dead-lettered without touching its batch-mates, and a store that refuses every write
leaves memory exactly as it was, with no snapshot written afterwards."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from helpers import T0, new_state

from floorlink.daemon.core.state import Input
from floorlink.daemon.engine import Engine
from floorlink.daemon.store import Store, StoreError


def opened(eid: str, check: str, table: str) -> Input:
    return Input("pos:T1", eid, "check.opened", T0, {"check": check, "table": table})


def replayed(path: Path) -> str:
    state = new_state()
    store = Store(path)
    store.open()
    state.replay(store.events())
    store.close()
    return state.dumps()


async def test_one_unstorable_input_is_dead_lettered_alone(tmp_path: Path) -> None:
    path = tmp_path / "floorlink.db"
    engine = Engine(Store(path), new_state, snapshot_every=1000)
    await engine.open()
    runner = asyncio.create_task(engine.run())
    try:
        # queued together, so they go into one batch: the middle one cannot be written
        futs = [
            engine.submit_nowait(opened("a", "c1", "1")),
            engine.submit_nowait(opened("b\ud800", "c2", "2")),
            engine.submit_nowait(opened("c", "c3", "3")),
        ]
        results = [(await f).outcome for f in futs]
    finally:
        runner.cancel()
    assert [r.result for r in results] == ["accepted", "rejected", "accepted"]
    assert "could not store" in (results[1].error or "")
    assert engine.state.floor.states["2"].status == "available"
    assert engine.state.seq == 2  # no gap: the dead letter took no seq
    await engine.close()
    assert replayed(path) == engine.state.dumps()
    db = sqlite3.connect(path)
    assert db.execute("SELECT seq FROM events ORDER BY seq").fetchall() == [(1,), (2,)]
    (reason,) = db.execute("SELECT reason FROM dead_letters").fetchone()
    assert "UnicodeEncodeError" in reason


async def test_a_store_that_refuses_writes_leaves_memory_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "floorlink.db"
    engine = Engine(Store(path), new_state, snapshot_every=1)
    await engine.open()
    runner = asyncio.create_task(engine.run())
    assert (await engine.submit(opened("a", "c1", "1"))).outcome.result == "accepted"
    before = engine.state.dumps()
    await engine.call(engine.store.db.execute, "PRAGMA query_only = 1")
    with pytest.raises(StoreError):
        await engine.submit(opened("b", "c2", "2"))
    with pytest.raises(StoreError):
        await runner
    assert engine.state.dumps() == before
    await engine.call(engine.store.db.execute, "PRAGMA query_only = 0")
    await engine.close()  # no snapshot after a failure
    db = sqlite3.connect(path)
    assert db.execute("SELECT max(seq) FROM snapshots").fetchone()[0] == 1
    assert replayed(path) == before


async def test_a_snapshot_ahead_of_the_log_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "floorlink.db"
    engine = Engine(Store(path), new_state, snapshot_every=1)
    await engine.open()
    runner = asyncio.create_task(engine.run())
    await engine.submit(opened("a", "c1", "1"))
    await engine.submit(opened("b", "c2", "2"))
    runner.cancel()
    await engine.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DELETE FROM events WHERE seq = 2")  # the log lost its tail; the snapshot did not
    db.close()
    again = Engine(Store(path), new_state)
    await again.open()
    assert again.state.seq == 1
    assert again.state.floor.states["2"].status == "available"
    await again.close()
