"""`make soak HOURS=1`: a compressed week of dinner services at peak rate, and whether the daemon
stays flat through it.

Seven services, 17:00 to 23:00 in the site's time, each squeezed into a seventh of the run: the
lifecycles of bench/lifecycle.py at FLOORLINK_SOAK_RATE events/s (500 by default), stamped with
the simulated clock, and a quiet night between services. A cloud (the tests' loopback fake) takes
every push, so the outbox fills and settles as it does on a connected box. The daemon's
schedules are compressed with the week: settled outbox rows and refusals are kept one simulated
day and the janitor runs every simulated hour, so pruning happens in the run as it would in a
real week.

Sampled over time: publish -> retained state p50 / p99, the backlog, RSS, open file
descriptors, the store's size (and bytes per event: the log itself grows by design), the outbox's
rows and the snapshot's size. The verdict compares the second quarter of the run with the last
(the first is warm-up). Writes bench/soak.json.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "bridge")]

from fake_cloud import TOKEN, FakeCloud  # noqa: E402
from harness import BenchDaemon, machine, open_fds, pct, rss_mb  # noqa: E402
from lifecycle import TABLES, Floor  # noqa: E402

from floorlink.daemon.broker import EmbeddedBroker  # noqa: E402

HOURS = float(os.environ.get("FLOORLINK_SOAK_HOURS", "1"))
RATE = float(os.environ.get("FLOORLINK_SOAK_RATE", "500"))
SERVICES = 7
SERVICE_H = 6  # 17:00 to 23:00
TZ = ZoneInfo("America/Los_Angeles")
#: Real seconds per simulated day (the run is one simulated week).
DAY_S = HOURS * 3600 / SERVICES
COMPRESS = 86_400 / DAY_S


class SimClock:
    """The simulated site time: services run 17:00-23:00; the night is skipped."""

    def __init__(self) -> None:
        self.service = 0
        self.t0 = time.perf_counter()
        self.day0 = datetime(2026, 11, 23, 17, 0, tzinfo=TZ)

    def now(self) -> datetime:
        into = (time.perf_counter() - self.t0) * COMPRESS
        return self.day0 + timedelta(days=self.service, seconds=into)

    def next_service(self) -> None:
        self.service += 1
        self.t0 = time.perf_counter()


def sample(daemon: BenchDaemon, floor: Floor, since: int, t: float, service: int) -> dict[str, Any]:
    lat = [v * 1000 for v in floor.tally.to_state[since:]]
    sizes = daemon.store_sizes()
    total_mb = sizes.get("db_mb", 0.0) + sizes.get("wal_mb", 0.0)
    events = sizes.get("events") or 1
    return {
        "t_s": round(t, 1),
        "service": service + 1,
        "p50_ms": round(statistics.median(lat), 2) if lat else None,
        "p99_ms": round(pct(lat, 99), 2) if lat else None,
        "backlog": floor.backlog,
        "rss_mb": rss_mb(daemon.pid),
        "fds": open_fds(daemon.pid),
        "store_mb": round(total_mb, 2),
        "store_bytes_per_event": round(total_mb * 2**20 / events),
        "events": sizes.get("events"),
        "outbox_rows": sizes.get("outbox_rows"),
        "outbox_pending": sizes.get("outbox_pending"),
        "snapshot_kb": sizes.get("snapshot_kb"),
    }


def verdict(samples: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Second quarter against the last: flat when the last stays within the allowance."""
    n = len(samples)
    if n < 8:
        return {"all": {"flat": None, "why": f"only {n} samples"}}
    early, late = samples[n // 4 : n // 2], samples[3 * n // 4 :]

    def med(rows: list[dict[str, Any]], key: str) -> float:
        vals = [r[key] for r in rows if r[key] is not None]
        return float(statistics.median(vals)) if vals else 0.0

    rules = {  # metric: (allowed growth factor, allowed absolute growth)
        "p99_ms": (1.5, 5.0),
        "rss_mb": (1.1, 5.0),
        "fds": (1.0, 2.0),
        "store_bytes_per_event": (1.2, 0.0),
        "outbox_rows": (1.5, 1000.0),
        "snapshot_kb": (1.5, 0.0),
        "backlog": (1.5, 100.0),
    }
    out: dict[str, dict[str, Any]] = {}
    for key, (factor, plus) in rules.items():
        a, b = med(early, key), med(late, key)
        out[key] = {"early": round(a, 2), "late": round(b, 2), "flat": b <= a * factor + plus}
    return out


async def soak() -> dict[str, Any]:
    every = max(5.0, HOURS * 3600 / 150)
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="floorlink-soak-") as name:
        tmp = Path(name)
        broker = EmbeddedBroker(tmp / "mosquitto")
        broker.start()
        cloud = FakeCloud()
        await cloud.start()
        day_fraction = 1 / COMPRESS
        extra = f'[cloud]\nurl = "{cloud.url}"\ntoken = "{TOKEN}"\n'
        daemon = BenchDaemon(tmp / "daemon", broker, TABLES, extra=extra)
        store_keys = (
            f"outbox_retention_days = {day_fraction:.6f}\n"
            f"rejected_retention_days = {day_fraction:.6f}\n"
            f"prune_every_minutes = {60 / COMPRESS:.4f}\n"
        )
        text = daemon.config.read_text()
        daemon.config.write_text(text.replace("[store]\n", "[store]\n" + store_keys, 1))
        daemon.start()
        clock = SimClock()
        t_start = time.perf_counter()
        try:
            async with Floor(broker.port, f"soak{time.monotonic_ns()}", clock.now) as floor:
                floor.start_tally()
                since = 0
                next_sample = t_start + every
                for service in range(SERVICES):
                    clock.service = service
                    clock.t0 = time.perf_counter()
                    busy = DAY_S * 0.9  # then a quiet night
                    sent0 = floor.tally.sent
                    while time.perf_counter() - clock.t0 < DAY_S:
                        now = time.perf_counter()
                        if now - clock.t0 < busy:
                            due = sent0 + int((now - clock.t0) * RATE)
                            while floor.tally.sent < due:
                                floor.send_one()
                        if now >= next_sample:
                            samples.append(sample(daemon, floor, since, now - t_start, service))
                            since = len(floor.tally.to_state)
                            cloud.events.clear()
                            cloud.order.clear()
                            cloud.cursors_asked.clear()
                            print(f"  {samples[-1]}", flush=True)
                            next_sample += every
                        await asyncio.sleep(0.002)
        finally:
            daemon.stop()
            await cloud.stop()
            broker.stop()
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "hours": HOURS,
        "rate_per_s": RATE,
        "services": SERVICES,
        "compression": round(COMPRESS, 1),
        "samples": samples,
        "verdict": verdict(samples),
    }


def print_report(r: dict[str, Any]) -> None:
    print(
        f"\nsoak {r['when']}: {r['hours']} h, {r['services']} services at {r['rate_per_s']}/s "
        f"(x{r['compression']} time), load {r['machine']['loadavg_at_start']}"
    )
    cols = ["t_s", "service", "p50_ms", "p99_ms", "backlog", "rss_mb", "fds", "store_mb"]
    cols += ["store_bytes_per_event", "outbox_rows", "snapshot_kb"]
    print("  ".join(f"{c:>10}" for c in cols))
    for s in r["samples"]:
        print("  ".join(f"{s[c]!s:>10}" for c in cols))
    print("\nverdict (second quarter -> last quarter, medians)")
    for key, v in r["verdict"].items():
        flat = {True: "flat", False: "GROWS", None: "?"}[v["flat"]]
        print(f"  {key:<24}{flat:<7}{v.get('early', '')} -> {v.get('late', '')}")


if __name__ == "__main__":
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    result = asyncio.run(soak())
    out = Path(os.environ.get("FLOORLINK_SOAK_OUT", str(HERE / "soak.json")))
    out.write_text(json.dumps(result, indent=2) + "\n")
    print_report(result)
    print(f"\nwritten: {out}")
