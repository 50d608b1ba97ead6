"""After a burst the writer gives memory back (issue 16 item 7): SQLite's page cache, bounded but
full after a burst of dead letters, and the allocator's free pages. RSS itself is measured in
bench/bad_input.py, never asserted here."""

from __future__ import annotations

import asyncio
from pathlib import Path

from store_helpers import config_for

from floorlink.daemon import engine as engine_module
from floorlink.daemon.app import build_state
from floorlink.daemon.engine import Engine, RejectInput
from floorlink.daemon.store import Store


async def test_a_burst_of_bad_input_is_followed_by_a_trim_and_everything_is_kept(
    tmp_path: Path,
) -> None:
    config = config_for(tmp_path / "f.db")
    engine = Engine(Store(config.store.path), lambda: build_state(config))
    await engine.open()
    runner = asyncio.create_task(engine.run())
    try:
        burst = engine_module.TRIM_AFTER_INPUTS + 10
        futures = [
            engine.submit_nowait(
                RejectInput("pos:T1", f"bad-{n}", "invalid", "payload must be one JSON object")
            )
            for n in range(burst)
        ]
        results = await asyncio.gather(*futures)
        assert {r.outcome.result for r in results} == {"rejected"}
        for _ in range(200):  # the trim follows the burst once the writer is idle
            if engine.trims:
                break
            await asyncio.sleep(engine_module.TRIM_IDLE_S / 10)
        assert engine.trims == 1
        counts = await engine.call(engine.store.counts)
        assert counts["dead_letters"] == burst and counts["rejected"] == burst
        # the writer goes on after the trim, and a resend is answered as before
        again = await engine.submit(
            RejectInput("pos:T1", "bad-0", "invalid", "payload must be one JSON object")
        )
        assert again.outcome.result == "rejected"
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await engine.close()
