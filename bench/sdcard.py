"""`floorlink run` on a simulated SD card: every SQLite commit is followed by an added blocking
delay on the committing thread, as a slow card's fsync would block it.

Why this mechanism: the fsync happens inside SQLite's C code, which Python cannot reach, and
LD_PRELOAD needs a compiled shim, a device-mapper delay target needs root and a kernel module, and
FUSE needs a mount. So this launcher gives `sqlite3.connect` a connection class whose COMMIT (and
`commit()`) sleeps FSYNC_MS after the real, fully synced commit returns, then runs the unchanged
CLI in this process. Nothing in the daemon knows. The sleep releases the GIL, as a blocked fsync
does, so the event loop keeps running while the store thread waits: exactly what the engine's
group commit must absorb. It under-counts a real card slightly: WAL checkpoints (two more fsyncs
per checkpoint) get no added delay.

    python bench/sdcard.py --fsync-ms 10 run --config floorlink.toml
"""

from __future__ import annotations

import runpy
import sqlite3
import sys
import time
from typing import Any


class SlowCommit(sqlite3.Connection):
    """A connection whose every commit costs `delay_s` more, after it is on disk."""

    delay_s = 0.0

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        cur = super().execute(sql, *args, **kwargs)
        word = sql.lstrip()[:6].upper()
        if word.startswith(("COMMIT", "END")):
            time.sleep(self.delay_s)
        return cur

    def commit(self) -> None:
        super().commit()
        time.sleep(self.delay_s)


def install(fsync_ms: float) -> None:
    """Every later `sqlite3.connect` in this process returns a SlowCommit connection."""
    SlowCommit.delay_s = fsync_ms / 1000
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", SlowCommit)
        conn: sqlite3.Connection = real(*args, **kwargs)
        return conn

    sqlite3.connect = connect  # type: ignore[assignment]


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[0] != "--fsync-ms":
        raise SystemExit("usage: sdcard.py --fsync-ms MS <floorlink arguments>")
    install(float(argv[1]))
    sys.argv = ["floorlink", *argv[2:]]
    runpy.run_module("floorlink.daemon.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
