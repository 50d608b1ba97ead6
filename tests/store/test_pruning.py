"""Pruning on a schedule, from a supervised component: settled outbox rows after the retention
period (pending ones never), snapshots beyond the newest few, dead letters beyond their cap."""

from __future__ import annotations

import asyncio
from pathlib import Path

from store_helpers import T0, config_for

from floorlink.daemon.app import build_state
from floorlink.daemon.component import Supervisor
from floorlink.daemon.config import Config
from floorlink.daemon.core.state import Effect, Event
from floorlink.daemon.engine import Engine
from floorlink.daemon.janitor import DAY_MS, StoreJanitor
from floorlink.daemon.store import SNAPSHOTS_KEPT, Store, Written

NOW = T0 + 30 * DAY_MS


async def open_engine(config: Config, store: Store | None = None) -> Engine:
    engine = Engine(store or Store(config.store.path), lambda: build_state(config))
    engine.clock = lambda: NOW
    await engine.open()
    return engine


def add_outbox(store: Store, rows: list[tuple[str, str | None, int | None]]) -> None:
    """(key, settled state or None for pending, done_at) rows for the cloud consumer."""
    store.begin()
    effects = [Effect("cloud", key, 1, "table.status", {}) for key, _, _ in rows]
    store.write(Written([], effects, {}), T0)
    for key, state, done_at in rows:
        if state is not None:
            store.db.execute(
                "UPDATE outbox SET state = ?, done_at = ? WHERE key = ?", (state, done_at, key)
            )
    store.commit()


def outbox_keys(store: Store) -> set[str]:
    return {k for (k,) in store.db.execute("SELECT key FROM outbox")}


def test_the_retention_defaults_to_seven_days(tmp_path: Path) -> None:
    assert config_for(tmp_path / "f.db").store.outbox_retention_days == 7


async def test_settled_outbox_rows_go_after_the_retention_and_pending_ones_never(
    tmp_path: Path,
) -> None:
    config = config_for(tmp_path / "f.db", "outbox_retention_days = 7\n")
    engine = await open_engine(config)
    add_outbox(
        engine.store,
        [
            ("old-done", "done", NOW - 8 * DAY_MS),
            ("old-dead", "dead", NOW - 8 * DAY_MS),
            ("old-expired", "expired", NOW - 30 * DAY_MS),
            ("recent-done", "done", NOW - 6 * DAY_MS),
            ("old-pending", None, None),  # created a month ago, never sent: kept
        ],
    )
    janitor = StoreJanitor(engine, config.store.outbox_retention_days, 3600, lambda: NOW)
    pruned = await janitor.prune()
    assert pruned.counts["outbox"] == 3
    assert outbox_keys(engine.store) == {"recent-done", "old-pending"}
    assert (await janitor.prune()).total == 0  # nothing more: a pass is idempotent
    await engine.close()


async def test_the_janitor_prunes_in_slices_so_commits_interleave(tmp_path: Path) -> None:
    from floorlink.daemon import janitor as janitor_module

    config = config_for(tmp_path / "f.db")
    engine = await open_engine(config)
    add_outbox(engine.store, [(f"k{i}", "done", NOW - 9 * DAY_MS) for i in range(25)])
    slice_before = janitor_module.SLICE
    janitor_module.SLICE = 10
    try:
        pruned = await StoreJanitor(engine, 7, 3600, lambda: NOW).prune()
    finally:
        janitor_module.SLICE = slice_before
    assert pruned.counts["outbox"] == 25 and outbox_keys(engine.store) == set()
    await engine.close()


async def test_old_snapshots_are_pruned_to_the_newest_few(tmp_path: Path) -> None:
    config = config_for(tmp_path / "f.db")
    engine = await open_engine(config)
    store = engine.store
    store.begin()  # a store written before snapshots were trimmed as they are written
    for seq in range(1, 11):
        store.db.execute(
            "INSERT INTO snapshots (seq, state, created) VALUES (?,?,?)", (seq, "{}", NOW)
        )
    store.commit()
    pruned = await StoreJanitor(engine, 7, 3600, lambda: NOW).prune()
    assert pruned.counts["snapshots"] == 10 - SNAPSHOTS_KEPT
    assert [s for s, _ in store.snapshots()] == list(range(10, 10 - SNAPSHOTS_KEPT, -1))
    await engine.close()


async def test_writing_a_snapshot_keeps_only_the_newest_few(tmp_path: Path) -> None:
    """A flood writes a snapshot every `snapshot_every` events: they must not pile up until
    the janitor's next round."""
    engine = await open_engine(config_for(tmp_path / "f.db"))
    store = engine.store
    for seq in range(1, 11):
        store.begin()
        store.write_snapshot(seq, "{}", NOW)
        store.commit()
        assert len(store.snapshots()) == min(seq, SNAPSHOTS_KEPT)
    assert [s for s, _ in store.snapshots()] == list(range(10, 10 - SNAPSHOTS_KEPT, -1))
    await engine.close()


async def test_dead_letters_are_bounded(tmp_path: Path) -> None:
    config = config_for(tmp_path / "f.db")
    engine = await open_engine(config, Store(config.store.path, dead_letters_kept=50))
    store = engine.store
    store.begin()
    for i in range(1, 1201):  # past the in-line cut at id 1000 too
        store.write_dead_letter("pos:T1", f"e{i}", "unreadable", b"\xff", NOW)
    store.commit()
    assert store.counts()["dead_letters"] == 1200 - (1000 - 50)  # the in-line bound
    await StoreJanitor(engine, 7, 3600, lambda: NOW).prune()
    assert store.counts()["dead_letters"] == 50
    newest = store.dead_letters(limit=1)[0]
    assert newest["eid"] == "e1200"  # the newest are the ones kept
    await engine.close()


async def test_the_janitor_runs_on_a_schedule_under_the_supervisor(tmp_path: Path) -> None:
    config = config_for(tmp_path / "f.db")
    engine = await open_engine(config)
    add_outbox(engine.store, [("old", "done", NOW - 8 * DAY_MS)])
    janitor = StoreJanitor(engine, 7, every_s=0.01, clock=lambda: NOW)
    supervisor = Supervisor()
    supervisor.add(janitor)
    await supervisor.start()
    try:
        async with asyncio.timeout(10):
            while janitor.passes < 2:  # noqa: ASYNC110 - it came round again by itself
                await asyncio.sleep(0.01)
    finally:
        await supervisor.stop()
    assert outbox_keys(engine.store) == set()
    assert supervisor.states["store.janitor"].restarts == 0
    await engine.close()


async def test_nothing_in_the_log_is_ever_pruned(tmp_path: Path) -> None:
    config = config_for(tmp_path / "f.db")
    engine = await open_engine(config)
    store = engine.store
    store.begin()
    store.write(Written([Event("pos:T1", "e1", "x.y", T0 - 90 * DAY_MS, {}, seq=1)], [], {}), T0)
    store.commit()
    await StoreJanitor(engine, 0, 3600, lambda: NOW).prune()
    assert store.last_seq() == 1
    await engine.close()


async def test_refusals_kept_for_resends_go_after_their_retention(tmp_path: Path) -> None:
    config = config_for(tmp_path / "f.db", "rejected_retention_days = 2\n")
    engine = await open_engine(config)
    store = engine.store
    store.begin()
    store.write_rejected("pos:T1", "old", "check.opened", "unknown table", NOW - 3 * DAY_MS)
    store.write_rejected("pos:T1", "new", "check.opened", "unknown table", NOW - DAY_MS)
    store.commit()
    days = config.store.rejected_retention_days
    pruned = await StoreJanitor(engine, 7, 3600, lambda: NOW, rejected_days=days).prune()
    assert pruned.counts["rejected"] == 1
    assert store.known([("pos:T1", "old"), ("pos:T1", "new")]) == {
        ("pos:T1", "new"): "unknown table"
    }
    await engine.close()
