"""What every benchmark part shares: the daemon as a child process (optionally on a simulated SD
card), its CPU and memory read from /proc, percentiles, and the quick/full sizes."""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, TypeVar

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]

from support import Daemon  # noqa: E402

from floorlink.daemon.broker import EmbeddedBroker  # noqa: E402

#: `FLOORLINK_BENCH_QUICK=1`: every part at a fraction of its size, for a ~1-minute smoke run.
QUICK = os.environ.get("FLOORLINK_BENCH_QUICK", "") not in ("", "0")
#: The simulated SD card's fsync: milliseconds added to every commit (bench/sdcard.py).
SD_FSYNC_MS = float(os.environ.get("FLOORLINK_BENCH_SD_FSYNC_MS", "10"))
TICKS = os.sysconf("SC_CLK_TCK")


N = TypeVar("N")


def sized(full: N, quick: N) -> N:
    return quick if QUICK else full


class BenchDaemon(Daemon):
    """`floorlink run` as systemd would run it, or through bench/sdcard.py when `fsync_ms` is set
    (the same daemon, each store commit followed by that much blocking time on its thread)."""

    def __init__(
        self,
        workdir: Path,
        broker: EmbeddedBroker,
        tables: int,
        fsync_ms: float = 0.0,
        snapshot_every: int = 1000,
        extra: str = "",
    ) -> None:
        super().__init__(workdir, broker, tables=tables, extra=extra, snapshot_every=snapshot_every)
        self.fsync_ms = fsync_ms
        self.db_path = workdir / "floorlink.db"

    def start(self, wait: bool = True) -> None:
        if self.fsync_ms:
            head = [sys.executable, str(HERE / "sdcard.py"), "--fsync-ms", str(self.fsync_ms)]
        else:
            head = [sys.executable, "-m", "floorlink.daemon.cli"]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*head, "run", "--config", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(os.environ),
            )
        if wait:
            self.wait_healthy(timeout=120)

    @property
    def pid(self) -> int:
        assert self.proc is not None, "the daemon is not running"
        return self.proc.pid

    def time_to_ready(self) -> float:
        """Seconds from the process's start to /healthz answering 200 (polled every 10 ms)."""
        t0 = time.perf_counter()
        self.start(wait=False)
        deadline = t0 + 300
        while time.perf_counter() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited:\n{self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError("daemon not ready in 300 s")

    def store_sizes(self) -> dict[str, Any]:
        """The store's files and what is in them, read on a read-only connection of our own."""
        wal = Path(str(self.db_path) + "-wal")
        out: dict[str, Any] = {
            "db_mb": round(self.db_path.stat().st_size / 2**20, 2),
            "wal_mb": round(wal.stat().st_size / 2**20, 2) if wal.exists() else 0.0,
        }
        db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5)
        try:
            out["events"] = db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
            out["outbox_rows"] = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
            out["outbox_pending"] = db.execute(
                "SELECT COUNT(*) FROM outbox WHERE state = 'pending'"
            ).fetchone()[0]
            snap = db.execute(
                "SELECT LENGTH(state) FROM snapshots ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            out["snapshot_kb"] = round(snap[0] / 1024, 1) if snap else 0.0
        except sqlite3.Error as exc:
            out["error"] = str(exc)
        finally:
            db.close()
        return out


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """VmRSS: the resident set now; VmHWM: its peak since the process started."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(lat_s: list[float]) -> dict[str, float]:
    """p50 / p99 / max in ms of latencies in seconds (empty: n = 0 and no figures)."""
    if not lat_s:
        return {"n": 0}
    ms = [v * 1000 for v in lat_s]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(pct(ms, 99), 2),
        "max_ms": round(max(ms), 2),
    }


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "loadavg_at_start": [round(x, 2) for x in load],
        "mosquitto": _mosquitto_version(),
    }


def _mosquitto_version() -> str:
    try:
        out = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True, timeout=5)
    except OSError:
        return "?"
    first = (out.stdout or out.stderr).splitlines()
    return first[0].replace("mosquitto version ", "") if first else "?"
