"""What held stays held (issue 17): the daemon SIGKILLed at random moments, the broker restarted
mid-stream, and the store copied mid-write as a power cut leaves it, all while POS terminals
stream real check lifecycles over a real Mosquitto and resend what was not answered.

Each test proves the same promise from a different fault: every event a terminal saw acknowledged
is in the log exactly once, the stored state equals a clean `floorlink replay`, and (with the
pager on a pty) no page is buzzed twice. The fault moments come from a seeded RNG, never from a
clock. `make test` runs a few cycles; `FLOORLINK_SOAK_CYCLES=200` (`make soak`) runs many more,
and `FLOORLINK_SOAK_SEED` replays a failing run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from support import Daemon, post

from floorlink.daemon.broker import EmbeddedBroker
from floorlink.daemon.store import Store
from floorlink.drivers.pty_transmitter import PtyTransmitter

SOAK = int(os.environ.get("FLOORLINK_SOAK_CYCLES", "0"))
SEED = int(os.environ.get("FLOORLINK_SOAK_SEED", "17"))
TABLES = 8
#: How long a terminal waits for all its answers before it resends what is unanswered (a retry,
#: never an ordering: a slow answer is simply resent and answered `duplicate`).
RESEND_AFTER_S = 3.0
RESEND_ROUNDS = 20


def cycles(default: int) -> int:
    return SOAK or default


def timeout_for(default_cycles: int, per_cycle_s: float) -> float:
    return 60 + cycles(default_cycles) * per_cycle_s


class Lifecycles:
    """Real check lifecycles on the terminals' own tables: opened, course fired, printed,
    closed, cleared; then the next check on that table."""

    STEPS = ("check.opened", "check.course_fired", "check.printed", "check.closed", "table.cleared")

    def __init__(self, terminal: str, tables: list[str]) -> None:
        self.terminal = terminal
        self.tables = tables
        self.step = dict.fromkeys(tables, 0)
        self.checks = dict.fromkeys(tables, 0)
        self.turn = 0
        self.n = 0

    def next(self) -> dict[str, Any]:
        table = self.tables[self.turn % len(self.tables)]
        self.turn += 1
        step = self.STEPS[self.step[table]]
        self.step[table] = (self.step[table] + 1) % len(self.STEPS)
        if step == "check.opened":
            self.checks[table] += 1
        check = f"{self.terminal}-{table}-{self.checks[table]}"
        self.n += 1
        body: dict[str, Any] = {
            "id": f"{self.terminal}-{self.n}",
            "type": step,
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        if step == "check.opened":
            body |= {"check": check, "table": table, "guests": 2, "server": "emp-1"}
        elif step == "check.course_fired":
            body |= {"check": check, "course": "entrees"}
        elif step == "check.printed":
            body |= {"check": check}
        elif step == "check.closed":
            body |= {"check": check, "total": "42.50", "tip": "8.00"}
        else:
            body |= {"table": table}
        return body


class Till:
    """A POS terminal that keeps its session, reconnects when the broker goes, and resends every
    event it has no answer for (on reconnect, and when asked): as a real terminal retries."""

    def __init__(self, broker: EmbeddedBroker, name: str, tables: list[str]) -> None:
        self.broker = broker
        self.name = name
        self.events = Lifecycles(name, tables)
        self.sent: dict[str, bytes] = {}
        self.acks: dict[str, list[str]] = {}
        self.connects = 0
        self._client: aiomqtt.Client | None = None
        self._up = asyncio.Event()
        self._lock = asyncio.Lock()
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    @property
    def topic(self) -> str:
        return f"floorlink/v1/pos/{self.name}/events"

    @property
    def unanswered(self) -> list[str]:
        return [eid for eid in self.sent if eid not in self.acks]

    async def __aenter__(self) -> Till:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._up.wait(), 20)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            client = aiomqtt.Client(
                "127.0.0.1",
                self.broker.port,
                identifier=f"what-held-{self.name}",
                clean_session=False,
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            )
            try:
                async with client:
                    await client.subscribe(f"floorlink/v1/pos/{self.name}/acks", qos=1)
                    async with self._lock:
                        self._client = client
                        self.connects += 1
                        for eid in self.unanswered:  # a real terminal retries on reconnect
                            await client.publish(self.topic, self.sent[eid], qos=1)
                        self._up.set()
                    async for msg in client.messages:
                        payload = msg.payload if isinstance(msg.payload, bytes) else b""
                        ack = json.loads(payload)
                        self.acks.setdefault(ack["id"], []).append(ack["result"])
                        async with self._changed:
                            self._changed.notify_all()
            except aiomqtt.MqttError:
                pass
            finally:
                self._up.clear()
                self._client = None
            await asyncio.sleep(0.1)  # reconnect backoff, as any client has

    async def send_next(self) -> str:
        body = self.events.next()
        self.sent[body["id"]] = json.dumps(body).encode()
        await self._publish(body["id"])
        return str(body["id"])

    async def _publish(self, eid: str) -> None:
        async with self._lock:
            if self._client is None:
                return  # the broker is away: resent on reconnect
            with contextlib.suppress(aiomqtt.MqttError):
                await self._client.publish(self.topic, self.sent[eid], qos=1)

    async def settle(self) -> None:
        """Resend what is unanswered until every event has its answer."""
        for _ in range(RESEND_ROUNDS):
            if not self.unanswered:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._up.wait(), RESEND_AFTER_S)
            for eid in self.unanswered:
                await self._publish(eid)

            async def answered() -> None:
                async with self._changed:
                    await self._changed.wait_for(lambda: not self.unanswered)

            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(answered(), RESEND_AFTER_S)
        assert not self.unanswered, f"{self.name}: never answered: {self.unanswered[:10]}"


def tills(broker: EmbeddedBroker, count: int = 3) -> list[Till]:
    ids = [str(n) for n in range(1, TABLES + 1)]
    return [Till(broker, f"till{k}", ids[k::count]) for k in range(count)]


@contextlib.asynccontextmanager
async def streaming(broker: EmbeddedBroker, count: int = 3) -> Any:
    terminals = tills(broker, count)
    async with contextlib.AsyncExitStack() as stack:
        for till in terminals:
            await stack.enter_async_context(till)
        yield terminals


def log_counts(db_path: Path) -> Counter[tuple[str, str]]:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return Counter(
            {
                (s, e): n
                for s, e, n in db.execute("SELECT source, eid, count(*) FROM events GROUP BY 1, 2")
            }
        )
    finally:
        db.close()


def assert_held(daemon: Daemon, terminals: list[Till]) -> int:
    """Every event answered, every acknowledged one in the log exactly once, nothing else in the
    POS part of the log, and a clean replay equal to the stored state. Returns the events."""
    counts = log_counts(daemon.workdir / "floorlink.db")
    sent = {(f"pos:{t.name}", eid) for t in terminals for eid in t.sent}
    for till in terminals:
        for eid, results in till.acks.items():
            assert set(results) <= {"accepted", "duplicate"}, (till.name, eid, results)
            assert counts[(f"pos:{till.name}", eid)] == 1, (till.name, eid, results)
    pos = {key: n for key, n in counts.items() if key[0].startswith("pos:")}
    assert set(pos) == sent, "the log holds exactly the events the terminals sent"
    assert all(n == 1 for n in pos.values())
    replay = daemon.cli("replay")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "equals the stored state" in replay.stdout
    return len(sent)


def pager_rows(db_path: Path) -> list[tuple[int, str]]:
    """(pager, state) of every page the daemon decided."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT payload, state FROM outbox WHERE consumer = 'pager'").fetchall()
    finally:
        db.close()
    return [(int(json.loads(p)["pager"]), str(s)) for p, s in rows]


async def drain(tx: PtyTransmitter) -> None:
    """Let the transmitter read every byte already written to its pty (yields, never sleeps)."""
    master = tx._master
    for _ in range(1000):
        if master is None or not select.select([master], [], [], 0)[0]:
            return
        await asyncio.sleep(0)


def wire_beyond_done(tx: PtyTransmitter, rows: list[tuple[int, str]]) -> Counter[int]:
    """Pages on the wire that the store has not yet marked sent: the one instant (between the
    transmitter taking a page and its row being settled) where a crash repeats a page."""
    wire = Counter(p.pager for p in tx.pages)
    done = Counter(pager for pager, state in rows if state == "done")
    return Counter({p: wire[p] - done[p] for p in wire if wire[p] > done[p]})


@pytest.fixture
def rng() -> Iterator[random.Random]:
    yield random.Random(SEED)


@pytest.mark.timeout(timeout_for(4, 25))
async def test_sigkill_at_random_moments_loses_doubles_and_pages_nothing_twice(
    tmp_path: Path, broker: EmbeddedBroker, rng: random.Random
) -> None:
    """SIGKILL at seeded random moments over many cycles (some while the daemon is still starting
    and taking its backlog) while three terminals stream check lifecycles and resend what was not
    answered: every acknowledged event is in the log exactly
    once, the state equals a clean replay, and no page reaches the pager twice except in the
    documented at-least-once instant (the crash fell between the wire and the row's settle)."""
    pager = tmp_path / "pager"
    extra = f'[pager]\nport = "{pager}"\nrestaurant_id = 1\nsystem_id = 2\n'
    daemon = Daemon(tmp_path / "daemon", broker, tables=TABLES, extra=extra, snapshot_every=25)
    db_path = daemon.workdir / "floorlink.db"
    tx = PtyTransmitter(pager, restaurant_id=1, system_id=2)
    tx.plug()
    allowed: Counter[int] = Counter()
    next_pager = 1
    try:
        daemon.start()
        async with streaming(broker) as terminals:
            for _ in range(cycles(4)):
                for _ in range(2):  # parties for the tables the checks free
                    post(
                        daemon,
                        "/api/v1/waitlist",
                        {"name": "P", "party_size": 2, "pager": next_pager},
                    )
                    next_pager += 1
                kill_after = rng.randint(1, 60)
                for n in range(kill_after):
                    await terminals[n % len(terminals)].send_next()
                daemon.kill()
                await drain(tx)
                allowed += wire_beyond_done(tx, pager_rows(db_path))
                if rng.random() < 0.5:  # killed again while it starts and takes the backlog
                    daemon.start(wait=False)
                    for n in range(rng.randint(0, 20)):
                        await terminals[n % len(terminals)].send_next()
                    daemon.kill()
                    await drain(tx)
                    allowed += wire_beyond_done(tx, pager_rows(db_path))
                daemon.start()
                for till in terminals:
                    await till.settle()
            for till in terminals:
                await till.settle()
        assert daemon.stop() == 0
        await drain(tx)  # the last pages the daemon wrote before it stopped
        events = assert_held(daemon, terminals)
        assert events >= cycles(4)
        rows = pager_rows(db_path)
        wire = Counter(p.pager for p in tx.pages)
        done = Counter(pager for pager, state in rows if state == "done")
        assert sum(done.values()) > 0, "the run paged nobody: it proves nothing about pages"
        for p in done | wire:
            assert done[p] <= wire[p] <= done[p] + allowed[p], (p, done[p], wire[p], allowed[p])
    finally:
        daemon.kill()
        tx.close()


@pytest.mark.timeout(timeout_for(4, 20))
async def test_broker_restarted_mid_stream_loses_and_doubles_nothing(
    tmp_path: Path, broker: EmbeddedBroker, rng: random.Random
) -> None:
    """The broker restarted again and again at seeded random moments while terminals stream and
    resend on reconnect: every acknowledged event is stored exactly once, nothing sent is lost,
    and the daemon comes back each time (its persistent session keeps what arrived meanwhile)."""
    daemon = Daemon(tmp_path / "daemon", broker, tables=TABLES, snapshot_every=25)
    try:
        daemon.start()
        async with streaming(broker) as terminals:
            for _ in range(cycles(4)):
                restart_after = rng.randint(1, 60)
                for n in range(restart_after):
                    await terminals[n % len(terminals)].send_next()
                broker.restart()
                for n in range(rng.randint(0, 10)):  # sent while the terminals reconnect
                    await terminals[n % len(terminals)].send_next()
                daemon.wait_healthy()
            for till in terminals:
                await till.settle()
            assert all(till.connects >= 2 for till in terminals)
        assert daemon.stop() == 0
        assert assert_held(daemon, terminals) >= cycles(4)
    finally:
        daemon.kill()


@pytest.mark.timeout(timeout_for(5, 15))
async def test_a_copy_taken_mid_write_opens_clean_and_holds_a_prefix_of_the_acked_events(
    tmp_path: Path, broker: EmbeddedBroker, rng: random.Random
) -> None:
    """Power loss: the daemon frozen (SIGSTOP) at a seeded random moment while events stream,
    its database and WAL copied as they lie on disk (no -shm, no checkpoint, no clean mark), then
    thawed. Each copy opens, passes SQLite's integrity check, replays equal to its stored state,
    and its log is a prefix of the final log holding every event acknowledged before the cut."""
    daemon = Daemon(tmp_path / "daemon", broker, tables=TABLES, snapshot_every=25)
    db_path = daemon.workdir / "floorlink.db"
    copies: list[tuple[Path, set[tuple[str, str]]]] = []
    try:
        daemon.start()
        async with streaming(broker) as terminals:
            for k in range(cycles(5)):
                for n in range(rng.randint(1, 60)):
                    await terminals[n % len(terminals)].send_next()
                assert daemon.proc is not None
                daemon.proc.send_signal(signal.SIGSTOP)
                try:
                    acked = {
                        (f"pos:{t.name}", eid)
                        for t in terminals
                        for eid, results in t.acks.items()
                        if "accepted" in results
                    }
                    cut = tmp_path / f"cut{k}"
                    cut.mkdir()
                    copy_as_it_lies(db_path, cut)
                finally:
                    daemon.proc.send_signal(signal.SIGCONT)
                copies.append((cut / db_path.name, acked))
            for till in terminals:
                await till.settle()
        assert daemon.stop() == 0
        assert_held(daemon, terminals)
        final = log_order(db_path)
        for copy, acked in copies:
            store = Store(copy)
            store.open()  # no clean mark: the full quick_check runs, and must pass
            try:
                assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                got = [(e.source, e.eid) for e in store.events()]
            finally:
                store.close(clean=False)
            assert got == final[: len(got)], f"{copy}: not a prefix of the final log"
            assert acked <= set(got), f"{copy}: lost {len(acked - set(got))} acknowledged events"
            config = copy.parent / "floorlink.toml"
            text = daemon.config.read_text().replace(str(db_path), str(copy))
            config.write_text(text)
            replay = replay_of(config)
            assert replay.returncode == 0, replay.stdout + replay.stderr
            assert "equals the stored state" in replay.stdout
    finally:
        if daemon.proc is not None:
            daemon.proc.send_signal(signal.SIGCONT)
        daemon.kill()


def copy_as_it_lies(db_path: Path, into: Path) -> None:
    """The database and its WAL as they are on disk (the -shm is memory: power loss loses it)."""
    for suffix in ("", "-wal"):
        src = Path(f"{db_path}{suffix}")
        if src.exists():
            shutil.copyfile(src, into / src.name)


def replay_of(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "floorlink.daemon.cli", "replay", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def log_order(db_path: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return [(s, e) for s, e in db.execute("SELECT source, eid FROM events ORDER BY seq")]
    finally:
        db.close()
