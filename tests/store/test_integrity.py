"""A store SQLite finds unsound is refused with one clear line: at open (`floorlink run` exits 3
with the reason on stderr) and, found later by the integrity watch, as a fatal daemon error. A
clean shutdown lets the next start skip the full-file check; any change to the file since does
not."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from store_helpers import T0, config_for

from floorlink.daemon.app import build_state
from floorlink.daemon.component import Supervisor
from floorlink.daemon.core.state import Input
from floorlink.daemon.engine import Engine
from floorlink.daemon.janitor import IntegrityWatch
from floorlink.daemon.store import Store, StoreError

PAGE = 4096


async def filled_store(path: Path, checks: int = 300) -> None:
    config = config_for(path)
    engine = Engine(Store(path), lambda: build_state(config))
    await engine.open()
    runner = asyncio.create_task(engine.run())
    for i in range(checks):
        data = {"check": f"c{i}", "table": "1", "guests": 2, "server": "x" * 200}
        await engine.submit(Input("pos:T1", f"o{i}", "check.opened", T0 + i, data))
    runner.cancel()
    await engine.close()


def corrupt_page(path: Path, page: int) -> None:
    with path.open("r+b") as f:
        f.seek((page - 1) * PAGE)
        f.write(b"\xa5" * 64)


async def test_a_corrupt_page_is_refused_at_open_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    await filled_store(path)
    corrupt_page(path, 4)
    with pytest.raises(StoreError) as err:
        Store(path).open()
    reason = str(err.value)
    assert "\n" not in reason and str(path) in reason
    assert "integrity check" in reason or "malformed" in reason


def test_floorlink_run_exits_3_with_the_reason_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    asyncio.run(filled_store(path))
    corrupt_page(path, 4)
    cfg = tmp_path / "floorlink.toml"
    cfg.write_text(
        f'[site]\nid = "s"\n[store]\npath = "{path}"\n[http]\nstaff_token = "long-enough-token"\n'
        'listen = "127.0.0.1:1"\n[[tables]]\nid = "1"\nseats = 4\n'
    )
    exe = str(Path(sys.executable).parent / "floorlink")
    done = subprocess.run(
        [exe, "run", "--config", str(cfg)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("floorlink: ") and str(path) in last
    assert "integrity check" in last or "malformed" in last


def test_a_file_that_is_not_a_database_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    path.write_bytes(b"this is a text file, not a store\n" * 200)
    with pytest.raises(StoreError, match="not a database"):
        Store(path).open()


def test_a_clean_shutdown_skips_the_next_check_and_any_change_undoes_that(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    store = Store(path)
    store.open(now_s=1000.0)
    store.close()
    assert Path(f"{path}.clean").exists()
    again = Store(path)
    again.open(now_s=2000.0)
    assert again.checked_at == 1000.0  # trusted: not read end to end again
    assert not Path(f"{path}.clean").exists()  # a crash from here on means a check next time
    again.close()
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # someone touched it
    third = Store(path)
    third.open(now_s=3000.0)
    assert third.checked_at == 3000.0
    third.close()
    fourth = Store(path)
    fourth.open(now_s=3000.0 + 86_400)  # a day later: checked again whatever the mark says
    assert fourth.checked_at == 3000.0 + 86_400
    fourth.close(clean=False)
    assert not Path(f"{path}.clean").exists()


async def test_corruption_found_while_running_is_fatal(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    await filled_store(path)
    config = config_for(path)
    engine = Engine(Store(path), lambda: build_state(config))
    await engine.open()
    corrupt_page(path, 4)
    watch = IntegrityWatch(engine, every_s=3600, max_age_s=0)
    supervisor = Supervisor()
    supervisor.add(watch)
    await supervisor.start()
    async with asyncio.timeout(30):
        await supervisor.fatal_event.wait()
    assert isinstance(supervisor.fatal, StoreError)
    assert "integrity check" in str(supervisor.fatal) or "malformed" in str(supervisor.fatal)
    assert not watch.health().up
    await supervisor.stop()
    await engine.close()
    assert not marked(path)  # the next start checks, and refuses


def marked(path: Path) -> bool:
    return Path(f"{path}.clean").exists()
