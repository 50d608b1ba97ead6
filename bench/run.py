"""`make bench`: Floorlink's speed and memory on this machine, printed and written to results.json.

Measured in one run, against a real Mosquitto on loopback and `floorlink run` as a child process:
- round trip POS publish -> retained table state, p50 / p99, at 50 and 500 events/s, beside the
  same round trip through a bare echo client on the same broker (the floor), with TCP_NODELAY on
  and, for the echo floor, off (to show what Nagle costs);
- the highest sustained rate with every event durable (acked only after an fsynced commit);
- the daemon's peak RSS.
Other parts add their own rows (paging latency, cloud drain, the receipt proxy's added latency)
when their modules are present.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiomqtt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support import Daemon

from floorlink.daemon.broker import EmbeddedBroker

HERE = Path(__file__).resolve().parent
TABLES = 25
RATES = (50, 500)
SAMPLES_PER_RATE = {50: 500, 500: 3000}
DURABLE_EVENTS = 20_000
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(lat_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in lat_s]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 3),
        "p99_ms": round(pct(ms, 99), 3),
        "max_ms": round(max(ms), 3),
    }


async def paced(rate: int, count: int, send: Callable[[int], None]) -> None:
    """Call send(i) `count` times at `rate` per second, catching up after a hiccup."""
    start = time.perf_counter()
    for i in range(count):
        target = start + i / rate
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        send(i)


async def echo_floor(port: int, rate: int, count: int, nodelay: bool) -> list[float]:
    """Publish -> an echo client republishes retained -> back: the broker's own round trip."""
    opts = NODELAY if nodelay else []
    sent: dict[str, float] = {}
    lat: list[float] = []
    done = asyncio.Event()
    async with (
        aiomqtt.Client("127.0.0.1", port, socket_options=opts, max_inflight_messages=1000) as echo,
        aiomqtt.Client("127.0.0.1", port, socket_options=opts, max_inflight_messages=1000) as probe,
    ):
        await echo.subscribe("bench/in", qos=1)
        await probe.subscribe("bench/out/+", qos=1)

        echoing: set[asyncio.Task[None]] = set()

        async def echo_loop() -> None:
            async for m in echo.messages:
                payload = m.payload if isinstance(m.payload, bytes) else b""
                slot = payload.split(b"-")[0].decode()
                t = asyncio.create_task(
                    echo.publish(f"bench/out/{slot}", payload, qos=1, retain=True)
                )
                echoing.add(t)
                t.add_done_callback(echoing.discard)

        async def probe_loop() -> None:
            async for m in probe.messages:
                key = m.payload.decode() if isinstance(m.payload, bytes) else ""
                if key in sent:
                    lat.append(time.perf_counter() - sent.pop(key))
                    if len(lat) >= count:
                        done.set()

        nonce = time.monotonic_ns()
        tasks = [asyncio.create_task(echo_loop()), asyncio.create_task(probe_loop())]
        pending: set[asyncio.Task[None]] = set()

        def send(i: int) -> None:
            key = f"k{i % 50}-{i}-{nonce}"
            sent[key] = time.perf_counter()
            t = asyncio.create_task(probe.publish("bench/in", key.encode(), qos=1))
            pending.add(t)
            t.add_done_callback(pending.discard)

        await paced(rate, count, send)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 30)
        for t in tasks:
            t.cancel()
        for slot in range(50):
            await probe.publish(f"bench/out/k{slot}", b"", retain=True)
    return lat


async def daemon_round_trip(port: int, rate: int, count: int) -> list[float]:
    """POS publish -> the daemon commits -> retained table state arrives at a subscriber."""
    outstanding: dict[str, deque[float]] = defaultdict(deque)
    lat: list[float] = []
    done = asyncio.Event()
    state = {t: False for t in range(1, TABLES + 1)}
    async with aiomqtt.Client("127.0.0.1", port, socket_options=NODELAY) as pos:
        await pos.subscribe("floorlink/v1/tables/+", qos=1)
        await asyncio.sleep(0.3)
        async for _ in _drain(pos, 0.3):
            pass

        async def listen() -> None:
            async for m in pos.messages:
                tid = str(m.topic).rsplit("/", 1)[1]
                queue = outstanding.get(tid)
                if queue:
                    lat.append(time.perf_counter() - queue.popleft())
                    if len(lat) >= count:
                        done.set()

        listener = asyncio.create_task(listen())
        pending: set[asyncio.Task[None]] = set()
        run = time.monotonic_ns()

        def send(i: int) -> None:
            table = i % TABLES + 1
            check = f"b{run}-{table}-{i // TABLES}"
            prev = f"b{run}-{table}-{i // TABLES - 1}"
            body: dict[str, Any]
            if state[table]:
                body = {"type": "check.voided", "check": prev}
            else:
                body = {"type": "check.opened", "check": check, "table": str(table), "guests": 2}
            state[table] = not state[table]
            body |= {"id": f"{run}-{i}", "at": "2026-11-22T19:31:05-08:00"}
            outstanding[str(table)].append(time.perf_counter())
            t = asyncio.create_task(
                pos.publish("floorlink/v1/pos/bench/events", json.dumps(body), qos=1)
            )
            pending.add(t)
            t.add_done_callback(pending.discard)

        await paced(rate, count, send)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 60)
        listener.cancel()
        # leave every table free for the next run
        for table, seated in state.items():
            if seated:
                last = f"b{run}-{table}-{(count - 1) // TABLES}"
                body = {
                    "id": f"{run}-close-{table}",
                    "type": "check.voided",
                    "check": last,
                    "at": "2026-11-22T19:31:05-08:00",
                }
                await pos.publish("floorlink/v1/pos/bench/events", json.dumps(body), qos=1)
    return lat


async def _drain(client: aiomqtt.Client, seconds: float) -> Any:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            async for m in client.messages:
                yield m


async def durable_rate(port: int, count: int) -> dict[str, float]:
    """Publish as fast as the broker takes them; the rate at which acks (after fsync) come back."""
    acks = 0
    done = asyncio.Event()
    async with aiomqtt.Client(
        "127.0.0.1", port, socket_options=NODELAY, max_inflight_messages=1000
    ) as pos:
        await pos.subscribe("floorlink/v1/pos/flood/acks", qos=1)

        async def listen() -> None:
            nonlocal acks
            async for _ in pos.messages:
                acks += 1
                if acks >= count:
                    done.set()

        listener = asyncio.create_task(listen())
        run = time.monotonic_ns()
        start = time.perf_counter()
        batch = []
        for i in range(count):
            table = i % TABLES + 1
            body = {
                "id": f"f{run}-{i}",
                "type": "check.updated",
                "check": f"flood-{table}",
                "guests": i % 8 + 1,
                "at": "2026-11-22T19:31:05-08:00",
            }
            batch.append(pos.publish("floorlink/v1/pos/flood/events", json.dumps(body), qos=1))
            if len(batch) >= 500:
                await asyncio.gather(*batch)
                batch = []
        await asyncio.gather(*batch)
        await asyncio.wait_for(done.wait(), 300)
        elapsed = time.perf_counter() - start
        listener.cancel()
    return {"events": count, "seconds": round(elapsed, 3), "events_per_s": round(count / elapsed)}


def rss_mb(pid: int, field: str = "VmHWM") -> float:
    """VmHWM: the peak resident set; VmRSS: the resident set now."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


async def main() -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with tempfile.TemporaryDirectory() as tmp:
        broker = EmbeddedBroker(Path(tmp) / "mosquitto")
        broker.start()
        nagle = EmbeddedBroker(Path(tmp) / "mosquitto-nagle")
        nagle.start()
        nagle_conf = Path(tmp) / "mosquitto-nagle" / "mosquitto.conf"
        nagle_conf.write_text(nagle_conf.read_text().replace("set_tcp_nodelay true", ""))
        nagle.restart()
        daemon = Daemon(Path(tmp) / "daemon", broker, tables=TABLES, snapshot_every=1000)
        daemon.start()
        assert daemon.proc is not None
        results["daemon_idle_rss_mb"] = rss_mb(daemon.proc.pid, "VmRSS")
        try:
            rt: dict[str, Any] = {}
            for rate in RATES:
                n = SAMPLES_PER_RATE[rate]
                rt[str(rate)] = {
                    "floorlink": summary(await daemon_round_trip(broker.port, rate, n)),
                    "echo_floor_nodelay": summary(await echo_floor(broker.port, rate, n, True)),
                    "echo_floor_nagle": summary(await echo_floor(nagle.port, rate, n, False)),
                }
            results["round_trip"] = rt
            results["durable"] = await durable_rate(broker.port, DURABLE_EVENTS)
            assert daemon.proc is not None
            results["daemon_peak_rss_mb"] = rss_mb(daemon.proc.pid)
        finally:
            daemon.stop()
            broker.stop()
            nagle.stop()
    for name in (
        "bench.paging",
        "bench.quotes",
        "bench.bridge_drain",
        "bench.reservation_sync",
        "bench.transmitters",
        "bench.receipt_proxy",
        "bench.bad_input",
        "bench.reports",
    ):
        with contextlib.suppress(ImportError):
            module = importlib.import_module(name)
            results[name.split(".")[1]] = await asyncio.to_thread(module.run)
    return results


def print_table(r: dict[str, Any]) -> None:
    print(f"\nFloorlink benchmark  ({r['machine']['cpus']} cpus, Python {r['machine']['python']})")
    print(f"{'round trip POS -> retained table':<44}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for rate, rows in r["round_trip"].items():
        for name, s in rows.items():
            cols = f"{s['p50_ms']:>10.2f}{s['p99_ms']:>10.2f}{s['max_ms']:>10.2f}"
            print(f"  {rate:>4}/s  {name:<34}{cols}")
    d = r["durable"]
    print(
        f"durable events/s (acked after fsync)        {d['events_per_s']:>10}"
        f"  ({d['events']} in {d['seconds']} s)"
    )
    print(f"daemon RSS idle (25 tables)                  {r['daemon_idle_rss_mb']:>10} MB")
    print(f"daemon peak RSS (after the 20,000-event flood) {r['daemon_peak_rss_mb']:>7} MB")
    if "paging" in r:
        p = r["paging"]
        page = f"{p['close_to_page_p50_ms']} / {p['close_to_page_p99_ms']} ms"
        print(f"check closed -> page on the port, p50/p99    {page}")
    if "quotes" in r:
        print("quote vs actual seat over simulated services: MAE / bias / share within 3 min")
        for n in r["quotes"]["nights"]:
            f, nv, o = n["floorlink"], n["naive"], n["oracle"]
            print(
                f"  night {n['night']} ({n['parties']} parties, mean wait"
                f" {n['mean_wait_minutes']} min)   floorlink {f['mae_minutes']} /"
                f" {f['bias_minutes']:+} / {f['within_3_min']:.0%}   naive {nv['mae_minutes']}"
                f"   oracle {o['mae_minutes']}"
            )
    if "transmitters" in r:
        for name, t in r["transmitters"].items():
            label = f"check closed -> {name} acknowledgement, p50/p99"
            print(f"{label:<45}{t['p50_ms']} / {t['p99_ms']} ms")
    if "bridge_drain" in r:
        b = r["bridge_drain"]
        print(f"cloud backlog of {b['backlog_events']} drained in           {b['drain_seconds']} s")
        live = (
            f"{b['live_round_trip_during_drain_p50_ms']} / "
            f"{b['live_round_trip_during_drain_p99_ms']} ms"
        )
        print(f"live round trip during the drain, p50/p99   {live}")
    if "reservation_sync" in r:
        s = r["reservation_sync"]
        sync = f"{s['created_to_stand_p50_ms']} / {s['created_to_stand_p99_ms']} ms"
        print(f"reservation created in cloud -> stand p50/p99 {sync}")
        seat = f"{s['seat_unpulled_p50_ms']} / {s['seat_unpulled_max_ms']} ms"
        print(f"seat a not-yet-pulled booking p50/max       {seat}")
    if "bad_input" in r:
        b = r["bad_input"]
        rss = f"{b['rss_baseline_mb']} / {b['rss_peak_mb']} / {b['rss_after_mb']} MB"
        print(f"RSS around {b['burst']} bad payloads, base/peak/after  {rss}")
        good = f"{b['good_ack_during_burst_p50_ms']} / {b['good_ack_during_burst_max_ms']} ms"
        print(f"good event ack during the burst p50/max   {good} ({b['bad_payloads_per_s']}/s)")
    if "reports" in r:
        print(importlib.import_module("bench.reports").render(r["reports"]))
    if "receipt_proxy" in r:
        x = r["receipt_proxy"]
        added = f"{x['added_p50_ms']} / {x['added_p99_ms']} ms"
        print(f"receipt proxy added latency, p50/p99       {added}  ({x['chunks']} chunks)")


if __name__ == "__main__":
    logging.getLogger("mqtt").setLevel(logging.ERROR)  # aiomqtt's "pending publish calls" notes
    sys.path.insert(0, str(HERE.parent))
    res = asyncio.run(main())
    print_table(res)
    (HERE / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    print(f"\nwritten: {HERE / 'results.json'}")
