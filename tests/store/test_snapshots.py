"""Start-up trusts the log over any snapshot: a corrupt snapshot, one that holds another state than
its row says, or one ahead of the log is skipped for the newest older one that loads; with none
left the whole log is folded. Every way ends on the state a clean replay gives."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from store_helpers import MIN, T0, config_for

from floorlink.daemon.app import build_state
from floorlink.daemon.config import Config
from floorlink.daemon.core.state import Input
from floorlink.daemon.engine import Engine
from floorlink.daemon.store import Store


async def write_log(config: Config, n: int) -> str:
    """`n` opened-and-closed checks with a snapshot after each input; the final state's text."""
    engine = Engine(Store(config.store.path), lambda: build_state(config), snapshot_every=2)
    await engine.open()
    runner = asyncio.create_task(engine.run())
    for i in range(n):
        at = T0 + i * MIN
        data = {"check": f"c{i}", "table": "1", "guests": 2}
        await engine.submit(Input("pos:T1", f"o{i}", "check.opened", at, data))
        await engine.submit(Input("pos:T1", f"x{i}", "check.closed", at + 1, {"check": f"c{i}"}))
    runner.cancel()
    state = engine.state.dumps()
    await engine.close()
    return state


def clean_replay(config: Config) -> str:
    store = Store(config.store.path)
    store.open()
    state = build_state(config)
    state.replay(store.events())
    store.close()
    return state.dumps()


async def reopen(config: Config) -> Engine:
    engine = Engine(Store(config.store.path), lambda: build_state(config))
    await engine.open()
    return engine


def snapshot_seqs(path: str) -> list[int]:
    db = sqlite3.connect(path)
    seqs = [s for (s,) in db.execute("SELECT seq FROM snapshots ORDER BY seq DESC")]
    db.close()
    return seqs


def damage(path: str, seq: int, text: str) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("UPDATE snapshots SET state = ? WHERE seq = ?", (text, seq))
    db.close()


async def test_a_corrupt_newest_snapshot_falls_back_to_an_older_one(tmp_path: Path) -> None:
    config = config_for(tmp_path / "f.db")
    final = await write_log(config, 4)
    newest, older = snapshot_seqs(config.store.path)[:2]
    damage(config.store.path, newest, '{"seq": 8, "floor": {"chec')  # torn JSON
    engine = await reopen(config)
    assert engine._snapshot_seq == older
    assert engine.state.dumps() == final == clean_replay(config)
    await engine.close()


async def test_a_snapshot_that_holds_another_state_than_its_row_says_is_skipped(
    tmp_path: Path,
) -> None:
    config = config_for(tmp_path / "f.db")
    final = await write_log(config, 3)
    newest, older = snapshot_seqs(config.store.path)[:2]
    db = sqlite3.connect(config.store.path, isolation_level=None)
    (text,) = db.execute("SELECT state FROM snapshots WHERE seq = ?", (older,)).fetchone()
    db.close()
    damage(config.store.path, newest, text)  # loads fine, but is the state at `older`
    engine = await reopen(config)
    assert engine._snapshot_seq == older
    assert engine.state.dumps() == final
    await engine.close()


async def test_with_every_snapshot_corrupt_the_whole_log_is_folded(tmp_path: Path) -> None:
    config = config_for(tmp_path / "f.db")
    final = await write_log(config, 3)
    for seq in snapshot_seqs(config.store.path):
        damage(config.store.path, seq, "not json")
    engine = await reopen(config)
    assert engine._snapshot_seq == 0
    assert engine.state.dumps() == final == clean_replay(config)
    await engine.close()


async def test_a_snapshot_ahead_of_the_log_falls_back_to_one_behind_it(tmp_path: Path) -> None:
    config = config_for(tmp_path / "f.db")
    await write_log(config, 3)
    newest, older = snapshot_seqs(config.store.path)[:2]
    db = sqlite3.connect(config.store.path, isolation_level=None)
    db.execute("DELETE FROM events WHERE seq > ?", (older,))  # the log lost its tail
    db.close()
    engine = await reopen(config)
    assert newest > older == engine.state.seq == engine._snapshot_seq
    assert engine.state.dumps() == clean_replay(config)
    await engine.close()
