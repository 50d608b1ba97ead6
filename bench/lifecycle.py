"""A restaurant's real traffic as the daemon sees it: check lifecycles on 32 tables from 5 POS
terminals, measured from outside.

Each table runs, over and over: `check.opened` -> `check.course_fired` apps -> entrees ->
`check.printed` -> `check.closed` -> `table.cleared`. Every one of these changes the table, so
every event must show up as a retained table state; a table is served by one terminal (its
server's), so its events reach the broker in order. An event counts only when its ack says
`accepted`; duplicates and rejections are counted apart and reported.

Two clocks per event, both from the moment it is handed to the MQTT client:
- -> retained state: the first `floorlink/v1/tables/{id}` message that shows the event's effect
  (an event coalesced into a later state counts as visible with that state);
- -> ack: its answer on `floorlink/v1/pos/{terminal}/acks`.

`open_loop` offers a fixed rate (the achieved rate is reported beside it); `flood` keeps a window
of unacknowledged events full, the closed-loop maximum.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiomqtt

TABLES = 32
TERMINALS = 5
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
#: The six steps of a check's life: (type, what the table shows after it: status, course).
STEPS: tuple[tuple[str, str, str | None], ...] = (
    ("check.opened", "seated", None),
    ("check.course_fired", "seated", "apps"),
    ("check.course_fired", "seated", "entrees"),
    ("check.printed", "check_dropped", None),
    ("check.closed", "bussing", None),
    ("table.cleared", "available", None),
)


def terminal_of(table: int) -> str:
    return f"pos-{(table - 1) % TERMINALS + 1}"


@dataclass(slots=True)
class Pending:
    eid: str
    step: int
    check: str
    sent: float


@dataclass
class Tally:
    """What one measured stretch produced."""

    sent: int = 0
    accepted: int = 0
    other: dict[str, int] = field(default_factory=dict)
    to_state: list[float] = field(default_factory=list)
    to_ack: list[float] = field(default_factory=list)
    first_sent: float = 0.0
    last_sent: float = 0.0
    last_ack: float = 0.0


class Floor:
    """The 32 tables' lifecycles, 5 terminal clients and one observer of the retained states.

    `clock` gives the events' `at` (real time by default; the soak moves a simulated one);
    `prefix` lets the same traffic drive the naive pipeline (bench/naive.py) beside the daemon."""

    def __init__(
        self,
        port: int,
        run_id: str,
        clock: Callable[[], datetime] | None = None,
        prefix: str = "floorlink/v1",
    ) -> None:
        self.port = port
        self.prefix = prefix
        self.run_id = run_id
        self.clock = clock or (lambda: datetime.now(UTC))
        self.cycle = dict.fromkeys(range(1, TABLES + 1), 0)
        self.step = dict.fromkeys(range(1, TABLES + 1), 0)
        self.pending: dict[int, deque[Pending]] = {t: deque() for t in range(1, TABLES + 1)}
        self.sent_at: dict[str, float] = {}
        self.tally = Tally()
        self.n = 0
        self.acked = 0
        self._acked_event = asyncio.Event()
        self.clients: dict[str, aiomqtt.Client] = {}
        self._stack = contextlib.AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self._next_table = 0

    async def __aenter__(self) -> Floor:
        for i in range(1, TERMINALS + 1):
            name = f"pos-{i}"
            client = aiomqtt.Client(
                "127.0.0.1",
                self.port,
                identifier=f"bench-{self.run_id}-{name}",
                socket_options=NODELAY,
                max_inflight_messages=1000,
                max_queued_outgoing_messages=0,
            )
            await self._stack.enter_async_context(client)
            await client.subscribe(f"{self.prefix}/pos/{name}/acks", qos=1)
            self.clients[name] = client
            self._tasks.append(asyncio.create_task(self._acks(client)))
        observer = aiomqtt.Client(
            "127.0.0.1",
            self.port,
            identifier=f"bench-{self.run_id}-stand",
            socket_options=NODELAY,
        )
        await self._stack.enter_async_context(observer)
        await observer.subscribe(f"{self.prefix}/tables/+", qos=1)
        self._tasks.append(asyncio.create_task(self._states(observer)))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for t in self._tasks:
            t.cancel()
        await self._stack.aclose()

    # ---- what comes back ----------------------------------------------------------------

    async def _acks(self, client: aiomqtt.Client) -> None:
        async for m in client.messages:
            now = time.perf_counter()
            payload = m.payload if isinstance(m.payload, bytes) else b"{}"
            ack = json.loads(payload)
            sent = self.sent_at.pop(ack.get("id", ""), None)
            if sent is None:
                continue
            result = ack.get("result")
            if result == "accepted":
                self.tally.accepted += 1
                self.tally.to_ack.append(now - sent)
            else:
                self.tally.other[str(result)] = self.tally.other.get(str(result), 0) + 1
            self.acked += 1
            self.tally.last_ack = now
            self._acked_event.set()

    async def _states(self, client: aiomqtt.Client) -> None:
        async for m in client.messages:
            now = time.perf_counter()
            payload = m.payload if isinstance(m.payload, bytes) else b""
            if not payload:
                continue
            obj = json.loads(payload)
            try:
                queue = self.pending[int(obj["table"])]
            except (KeyError, ValueError):
                continue
            for i, p in enumerate(queue):
                _, status, course = STEPS[p.step]
                if obj.get("status") != status:
                    continue
                if p.step < 3 and (obj.get("course") != course or obj.get("check") != p.check):
                    continue
                for _ in range(i + 1):
                    self.tally.to_state.append(now - queue.popleft().sent)
                break

    # ---- what goes out ------------------------------------------------------------------

    def send_one(self) -> None:
        """The next step of the next table's check, handed to its terminal's client."""
        table = self._next_table % TABLES + 1
        self._next_table += 1
        step, cycle = self.step[table], self.cycle[table]
        self.step[table] = (step + 1) % len(STEPS)
        if step == len(STEPS) - 1:
            self.cycle[table] = cycle + 1
        etype = STEPS[step][0]
        check = f"{self.run_id}-{table}-{cycle}"
        self.n += 1
        eid = f"{self.run_id}-{self.n}"
        body: dict[str, Any] = {"id": eid, "type": etype, "at": self.clock().isoformat()}
        if step == 0:
            body |= {"check": check, "table": str(table), "guests": 2 + table % 4}
            body["server"] = f"emp-{table % 7}"
        elif step in (1, 2):
            body |= {"check": check, "course": STEPS[step][2]}
        elif step == 3:
            body["check"] = check
        elif step == 4:
            body |= {"check": check, "total": f"{40 + table}.50", "tip": "8.00"}
        else:
            body["table"] = str(table)
        now = time.perf_counter()
        if not self.tally.sent:
            self.tally.first_sent = now
        self.tally.sent += 1
        self.tally.last_sent = now
        self.sent_at[eid] = now
        self.pending[table].append(Pending(eid, step, check, now))
        name = terminal_of(table)
        # paho's own non-blocking publish (what aiomqtt's publish does, minus waiting for the
        # broker's PUBACK), so the sender is never paced by the round trip it measures.
        self.clients[name]._client.publish(
            f"{self.prefix}/pos/{name}/events", json.dumps(body), qos=1
        )

    @property
    def backlog(self) -> int:
        return self.tally.sent - self.acked

    def start_tally(self) -> Tally:
        """A fresh tally for the next stretch; events still in flight are not counted in it."""
        self.sent_at.clear()
        for q in self.pending.values():
            q.clear()
        self.tally = Tally()
        self.acked = 0
        return self.tally

    async def settle(self, timeout: float = 120) -> bool:
        """Wait until every event sent in this stretch is answered (True) or the timeout."""
        deadline = time.perf_counter() + timeout
        while self.backlog > 0 and time.perf_counter() < deadline:
            self._acked_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._acked_event.wait(), 1)
        # the retained states trail the acks by a little
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                while any(self.pending.values()):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        return self.backlog <= 0

    async def open_loop(
        self, rate: float, seconds: float, sample: Callable[[float, int], None] | None = None
    ) -> Tally:
        """Offer `rate` events/s for `seconds`, sending what is due every 2 ms."""
        tally = self.start_tally()
        start = time.perf_counter()
        total = int(rate * seconds)
        next_sample = start + 0.5
        while self.tally.sent < total:
            now = time.perf_counter()
            due = min(total, int((now - start) * rate) + 1)
            while self.tally.sent < due:
                self.send_one()
            if sample is not None and now >= next_sample:
                sample(now - start, self.backlog)
                next_sample += 0.5
            await asyncio.sleep(0.002)
        return tally

    async def flood(self, count: int, window: int = 2000) -> Tally:
        """Send `count` events keeping at most `window` unanswered: the closed-loop maximum."""
        tally = self.start_tally()
        while self.tally.sent < count:
            room = min(window - self.backlog, count - self.tally.sent)
            for _ in range(max(0, room)):
                self.send_one()
            self._acked_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._acked_event.wait(), 5)
        return tally

    async def reset_tables(self) -> None:
        """Walk every table to the end of its check so the next run starts on a free floor."""
        self.start_tally()
        while any(s != 0 for s in self.step.values()):
            for table in range(1, TABLES + 1):
                if self.step[table] != 0:
                    self._next_table = table - 1
                    self.send_one()
        await self.settle()


def achieved(t: Tally) -> float:
    """Accepted events per second from the first send to the last ack."""
    span = t.last_ack - t.first_sent
    return round(t.accepted / span, 1) if span > 0 and t.accepted else 0.0
