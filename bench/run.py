"""`make bench`: Floorlink's speed and memory on this machine, each figure beside its floor.

One run, against a real Mosquitto on loopback and `floorlink run` as a child process, with the
traffic of bench/lifecycle.py (check lifecycles on 32 tables from 5 terminals, every ack counted
only when `accepted`):
- publish -> retained table state and -> ack, p50 / p99 / max, at 50, 500, 2,000 and 5,000
  events/s offered (the achieved rate beside), next to the echo floor and the naive pipeline
  (bench/floors.py, bench/naive.py) at the same rates;
- the highest open-loop rate whose backlog stays flat, the closed-loop maximum, the commit
  floor, CPU µs per event (the daemon's utime + stime from /proc over each stretch);
- the same on a simulated SD card (bench/sdcard.py: a delay after every commit);
- RSS idle, after the 5,000/s overload, after 10^6 events; start-to-ready with those 10^6
  events in the log (after a clean stop and after SIGKILL); the step cost (CPU µs and
  throughput per slice of the 10^6) and the snapshot's size as the floor's history grows;
- the other parts' rows (paging, cloud drain, quotes, transmitters, receipt proxy, reservation
  sync, bad input) from their own modules.
Targets are reported met / not met (bench/report.py), never asserted. Writes bench/results.json
and docs/bench-latency.png. `FLOORLINK_BENCH_QUICK=1`: the same at a fraction of the size.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import cpu_profile  # noqa: E402
from floors import NaivePipeline, commit_floor, echo_floor  # noqa: E402
from harness import (  # noqa: E402
    QUICK,
    SD_FSYNC_MS,
    BenchDaemon,
    cpu_s,
    machine,
    rss_mb,
    sized,
    summary,
)
from lifecycle import TABLES, Floor, Tally, achieved  # noqa: E402

from floorlink.daemon.broker import EmbeddedBroker  # noqa: E402

RATES = (50, 500, 2000, 5000)
SECONDS = {50: sized(12, 1.5), 500: sized(10, 1.5), 2000: sized(8, 1.0), 5000: sized(6, 1.0)}
SD_RATES = sized((50, 500, 2000), (50, 500))
LADDER_SECONDS = sized(8, 1.5)
LADDER_STEPS = sized(10, 3)
FLOOD = sized(20_000, 1_500)
#: Events of history for the step-cost, RSS and start-to-ready figures (the issue asks 10^6).
LOG_EVENTS = int(os.environ.get("FLOORLINK_BENCH_LOG_EVENTS", str(sized(1_000_000, 4_000))))
LOG_SLICES = sized(20, 4)
OTHER_PARTS = (
    "paging",
    "bridge_drain",
    "quotes",
    "transmitters",
    "receipt_proxy",
    "reservation_sync",
    "bad_input",
    "reports",
)


def stretch(t: Tally, cpu: float, offered: float | None = None) -> dict[str, Any]:
    """One measured stretch: rates, answers, latencies, CPU per accepted event."""
    out: dict[str, Any] = {
        "sent": t.sent,
        "accepted": t.accepted,
        "not_accepted": t.other,
        "achieved_per_s": achieved(t),
        "to_state": summary(t.to_state),
        "to_ack": summary(t.to_ack),
        "cpu_us_per_event": round(cpu / t.accepted * 1e6) if t.accepted else None,
    }
    if offered is not None:
        out["offered_per_s"] = offered
    return out


async def rate_sweep(floor: Floor, pid: int, rates: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for rate in rates:
        await floor.reset_tables()
        c0 = cpu_s(pid)
        t = await floor.open_loop(rate, SECONDS[rate])
        await floor.settle(timeout=300)
        out[str(rate)] = stretch(t, cpu_s(pid) - c0, rate)
    return out


def slope(points: list[tuple[float, int]]) -> float:
    """Least-squares growth per second of the backlog (0 with fewer than 3 samples)."""
    if len(points) < 3:
        return 0.0
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def samples_into(samples: list[tuple[float, int]]) -> Callable[[float, int], None]:
    return lambda s, b: samples.append((s, b))


async def ladder(floor: Floor, pid: int, closed_loop: float) -> dict[str, Any]:
    """Open loop at rising rates, 50% to 140% of the closed-loop maximum in steps of 10%; the
    highest whose backlog stays flat (small at the end, or not growing in the second half)."""
    steps: list[dict[str, Any]] = []
    best = 0.0
    for step in range(LADDER_STEPS):
        rate = round(closed_loop * (0.5 + 0.1 * step))
        await floor.reset_tables()
        samples: list[tuple[float, int]] = []
        c0 = cpu_s(pid)
        t = await floor.open_loop(rate, LADDER_SECONDS, samples_into(samples))
        end_backlog = floor.backlog
        growth = slope([(s, b) for s, b in samples if s >= LADDER_SECONDS / 2])
        flat = end_backlog <= max(100, 0.1 * rate) or growth <= 0.05 * rate
        await floor.settle(timeout=300)
        row = stretch(t, cpu_s(pid) - c0, rate)
        row |= {"end_backlog": end_backlog, "backlog_growth_per_s": round(growth), "flat": flat}
        steps.append(row)
        if not flat:
            break
        best = rate
    return {"highest_flat_per_s": best, "steps": steps}


async def flood(floor: Floor, pid: int, count: int) -> dict[str, Any]:
    await floor.reset_tables()
    c0 = cpu_s(pid)
    t = await floor.flood(count)
    await floor.settle(timeout=300)
    return stretch(t, cpu_s(pid) - c0)


async def profiled(floor: Floor, pid: int, folder: Path, seconds: int) -> dict[str, Any]:
    """py-spy on the daemon through a closed-loop flood: where the CPU per event goes."""
    raw = folder / "profile.txt"
    spy = cpu_profile.record(pid, seconds, raw)
    if spy is None:
        return {"skipped": "py-spy is not installed"}
    await floor.reset_tables()
    while spy.poll() is None:
        await floor.flood(2000)
        await floor.settle()
    _, err = spy.communicate()
    if spy.returncode != 0 or not raw.exists():
        return {"error": err.decode(errors="replace").strip()[-300:]}
    return cpu_profile.summarize(raw)


async def history(floor: Floor, daemon: BenchDaemon) -> dict[str, Any]:
    """LOG_EVENTS real lifecycles with real timestamps, closed loop, in slices: the step cost and
    the snapshot as the floor's history grows. Leaves that many events in the log."""
    slices = []
    per = max(1, LOG_EVENTS // LOG_SLICES)
    for i in range(LOG_SLICES):
        c0 = cpu_s(daemon.pid)
        t = await floor.flood(per)
        await floor.settle(timeout=300)
        row = stretch(t, cpu_s(daemon.pid) - c0)
        sizes = daemon.store_sizes()
        slices.append(
            {
                "events_in_log": sizes.get("events"),
                "per_s": row["achieved_per_s"],
                "cpu_us_per_event": row["cpu_us_per_event"],
                "ack_p99_ms": row["to_ack"].get("p99_ms"),
                "snapshot_kb": sizes.get("snapshot_kb"),
                "db_mb": sizes.get("db_mb"),
                "rss_mb": rss_mb(daemon.pid),
            }
        )
        print(f"  history {i + 1}/{LOG_SLICES}: {slices[-1]}", flush=True)
    return {"events": per * LOG_SLICES, "slices": slices}


async def fast_disk(tmp: Path, broker: EmbeddedBroker) -> dict[str, Any]:
    out: dict[str, Any] = {}
    daemon = BenchDaemon(tmp / "daemon", broker, TABLES)
    daemon.start()
    try:
        await asyncio.sleep(2)
        out["rss_idle_mb"] = rss_mb(daemon.pid)
        async with Floor(broker.port, f"f{time.monotonic_ns()}") as floor:
            print("fast disk: rates", flush=True)
            out["rates"] = await rate_sweep(floor, daemon.pid, RATES)
            out["rss_after_overload_mb"] = rss_mb(daemon.pid)
            await asyncio.sleep(5)
            out["rss_after_overload_settled_mb"] = rss_mb(daemon.pid)
            out["rss_peak_mb"] = rss_mb(daemon.pid, "VmHWM")
            print("fast disk: flood and ladder", flush=True)
            out["flood"] = await flood(floor, daemon.pid, FLOOD)
            out["durable"] = await ladder(floor, daemon.pid, out["flood"]["achieved_per_s"])
            print("fast disk: profile", flush=True)
            out["profile"] = await profiled(floor, daemon.pid, tmp, sized(15, 3))
            print(f"fast disk: {LOG_EVENTS} events of history", flush=True)
            await floor.reset_tables()
            out["history"] = await history(floor, daemon)
            out["rss_after_log_mb"] = rss_mb(daemon.pid)
            out["rss_peak_after_log_mb"] = rss_mb(daemon.pid, "VmHWM")
        out["store_after_log"] = daemon.store_sizes()
        daemon.stop()
        out["ready_after_clean_stop_s"] = round(daemon.time_to_ready(), 3)
        daemon.kill()
        out["ready_after_sigkill_s"] = round(daemon.time_to_ready(), 3)
        out["rss_idle_after_restart_mb"] = rss_mb(daemon.pid)
    finally:
        daemon.kill()
    return out


async def sd_card(tmp: Path, broker: EmbeddedBroker) -> dict[str, Any]:
    out: dict[str, Any] = {"fsync_ms": SD_FSYNC_MS}
    daemon = BenchDaemon(tmp / "daemon-sd", broker, TABLES, fsync_ms=SD_FSYNC_MS)
    daemon.start()
    try:
        async with Floor(broker.port, f"s{time.monotonic_ns()}") as floor:
            print("sd card: rates", flush=True)
            out["rates"] = await rate_sweep(floor, daemon.pid, SD_RATES)
            print("sd card: flood and ladder", flush=True)
            out["flood"] = await flood(floor, daemon.pid, FLOOD // 2)
            out["durable"] = await ladder(floor, daemon.pid, out["flood"]["achieved_per_s"])
    finally:
        daemon.stop()
    return out


async def floors(tmp: Path, broker: EmbeddedBroker) -> dict[str, Any]:
    out: dict[str, Any] = {"echo": {}, "naive": {}, "naive_sd": {}}
    print("floors: echo", flush=True)
    for rate in RATES:
        out["echo"][str(rate)] = await echo_floor(broker.port, rate, SECONDS[rate])
    print("floors: commit", flush=True)
    out["commit"] = await asyncio.to_thread(commit_floor, tmp, sized(2.0, 0.3))
    out["commit_sd"] = await asyncio.to_thread(commit_floor, tmp, sized(1.0, 0.3), SD_FSYNC_MS)
    print("floors: naive pipeline", flush=True)
    with NaivePipeline(broker.port, tmp / "naive") as naive:
        async with Floor(broker.port, f"n{time.monotonic_ns()}", prefix="naive/v1") as floor:
            out["naive"]["rates"] = await rate_sweep(floor, naive.pid, RATES)
            out["naive"]["flood"] = await flood(floor, naive.pid, FLOOD)
    with NaivePipeline(broker.port, tmp / "naive-sd", SD_FSYNC_MS) as naive:
        async with Floor(broker.port, f"m{time.monotonic_ns()}", prefix="naive/v1") as floor:
            out["naive_sd"]["rates"] = await rate_sweep(floor, naive.pid, (50,))
            out["naive_sd"]["flood"] = await flood(floor, naive.pid, sized(1500, 100))
    return out


async def core() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="floorlink-bench-") as name:
        tmp = Path(name)
        broker = EmbeddedBroker(tmp / "mosquitto")
        broker.start()
        try:
            return {
                "fast_disk": await fast_disk(tmp, broker),
                "floors": await floors(tmp, broker),
                "sd_card": await sd_card(tmp, broker),
            }
        finally:
            broker.stop()


def other_parts() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in OTHER_PARTS:
        print(f"part: {name}", flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
        except ImportError as exc:
            out[name] = {"skipped": f"cannot import: {exc}"}
            continue
        t0 = time.perf_counter()
        try:
            out[name] = module.run()
        except Exception as exc:  # one part failing must not lose the others' figures
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
        out[name]["bench_seconds"] = round(time.perf_counter() - t0, 1)
    return out


def main() -> dict[str, Any]:
    import report

    t0 = time.perf_counter()
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": QUICK,
        "machine": machine(),
        "traffic": f"check lifecycles on {TABLES} tables from 5 terminals",
    }
    results |= asyncio.run(core())
    if QUICK:
        results["parts"] = {"skipped": "quick mode"}
    else:
        results["parts"] = other_parts()
    results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["bench_seconds"] = round(time.perf_counter() - t0)
    results["targets"] = report.targets(results)
    return results


if __name__ == "__main__":
    logging.getLogger("mqtt").setLevel(logging.ERROR)  # aiomqtt's "pending publish calls" notes
    import chart
    import report

    out = Path(os.environ.get("FLOORLINK_BENCH_OUT", str(HERE / "results.json")))
    res = main()
    out.write_text(json.dumps(res, indent=2) + "\n")
    png = Path(os.environ.get("FLOORLINK_BENCH_CHART", str(HERE.parent / "docs/bench-latency.png")))
    chart.draw(res, png)
    report.print_table(res)
    print(f"\nwritten: {out} and {png}")
