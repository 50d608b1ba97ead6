"""A simulated dinner service in real time: POS terminals publishing check events over MQTT,
walk-ins on the waitlist, and the parties Floorlink pages walking up to be seated.

Used by `make demo`. The demo runs on the box's real clock, so what the page shows (minutes at a
table, LATE, quotes, re-pages) is what a restaurant would see; nothing is compressed. To have
something to watch at once, it opens mid-service: the first events are the evening so far,
stamped with their real times in the past (tables seated up to 100 minutes ago, checks dropped,
tables waiting for the busser, earlier turns that teach the quotes this floor's turn times). Then
the service goes on live: courses fire, checks print and close, bussers clear, walk-ins join the
waitlist when the floor is full, and each paged party walks over and is seated at the table it
was paged for (or now and then never shows), so the waitlist turns over as in a real service.
Now and then a terminal resends an event (a duplicate), as real POS networks do.

`minute_s` (real seconds per simulated minute) exists for the tests, which cannot wait an
hour; the demo always runs at 60.
"""

from __future__ import annotations

import asyncio
import json
import random
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiomqtt
import structlog

from floorlink.daemon.core import events as ev

log = structlog.get_logger(__name__)

TERMINALS = ("bar", "host-stand", "server-1")
SERVERS = ("emp-11", "emp-12", "emp-17", "emp-21")
DISHES = (
    ("burrata", "apps", "14.00"),
    ("calamari", "apps", "16.50"),
    ("ribeye", "entrees", "42.00"),
    ("risotto", "entrees", "28.00"),
    ("branzino", "entrees", "36.00"),
    ("tiramisu", "dessert", "11.00"),
)
NAMES = ("Kim", "Garcia", "Nguyen", "Rossi", "Okafor", "Smith", "Haddad", "Larsen", "Ito", "Silva")
REAL_TIME = 60.0
#: How far back the evening so far reaches, in minutes.
HISTORY_MIN = 240


@dataclass(frozen=True, slots=True)
class Step:
    """One POS event of a visit, `minute` minutes after the check was opened."""

    minute: float
    type: str
    fields: dict[str, Any]


class Simulator:
    def __init__(
        self,
        mqtt_port: int,
        tables: dict[str, int],
        api: str | None = None,
        token: str | None = None,
        minute_s: float = REAL_TIME,
        seed: int = 7,
        warm_start: bool = True,
        arrival_minutes: tuple[float, float] = (1.0, 3.0),
    ) -> None:
        self.mqtt_port = mqtt_port
        self.tables = tables
        self.api = api
        self.token = token
        self.minute_s = minute_s
        self.rng = random.Random(seed)
        self.noise = random.Random(seed + 1)  # which terminal, resends: apart from the service
        self.warm_start = warm_start
        self.arrival_minutes = arrival_minutes
        self.status: dict[str, str] = {}
        self.waitlist: list[dict[str, Any]] = []
        self.claimed: set[str] = set()  # a visit runs there, or a paged party walks to it
        self.answered: set[str] = set()  # paged entries already walking over
        self.seated_from_waitlist = 0
        self.sent = 0
        self._n = 0
        self._check = 1000
        self._pager = 0
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- time ----------------------------------------------------------------------------

    def _at(self, minutes_ago: float = 0.0) -> str:
        return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(
            timespec="milliseconds"
        )

    async def _wait(self, minutes: float) -> None:
        await asyncio.sleep(max(0.0, minutes) * self.minute_s)

    # ---- outside world -------------------------------------------------------------------

    async def _publish(
        self, client: aiomqtt.Client, etype: str, minutes_ago: float = 0.0, **f: Any
    ) -> None:
        self._n += 1
        terminal = self.noise.choice(TERMINALS)
        body = {"id": f"{terminal}-{self._n}", "type": etype, "at": self._at(minutes_ago), **f}
        await client.publish(f"floorlink/v1/pos/{terminal}/events", json.dumps(body), qos=1)
        self.sent += 1
        if self.noise.random() < 0.03:  # a terminal that did not see its ack resends
            await client.publish(f"floorlink/v1/pos/{terminal}/events", json.dumps(body), qos=1)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        req = urllib.request.Request(
            f"{self.api}{path}",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                answer: dict[str, Any] = json.loads(resp.read() or b"{}")
                return answer
        except (OSError, ValueError) as exc:
            detail = (
                exc.read().decode(errors="replace")[:200]
                if isinstance(exc, urllib.error.HTTPError)
                else ""
            )
            log.debug("simulated host action refused", path=path, error=str(exc), detail=detail)
            return None

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for msg in client.messages:
            payload = msg.payload if isinstance(msg.payload, bytes) else b""
            if not payload:
                continue
            topic = str(msg.topic)
            if topic == "floorlink/v1/waitlist":
                self.waitlist = json.loads(payload)
                self._answer_pages(client)
            elif topic.startswith("floorlink/v1/tables/") and topic.count("/") == 3:
                obj = json.loads(payload)
                self.status[obj["table"]] = obj["status"]
            async with self._changed:
                self._changed.notify_all()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- the service ---------------------------------------------------------------------

    async def run(self, duration_s: float | None = None) -> None:
        async with aiomqtt.Client(
            "127.0.0.1", self.mqtt_port, identifier="floorlink-simulator"
        ) as client:
            await client.subscribe("floorlink/v1/tables/+", qos=1)
            await client.subscribe("floorlink/v1/waitlist", qos=1)
            listener = asyncio.create_task(self._listen(client))
            try:
                async with self._changed:
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: len(self.status) >= len(self.tables)), 30
                    )
                if self.warm_start:
                    await self._open_mid_service(client)
                await self._arrivals(client, duration_s)
            finally:
                listener.cancel()
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(listener, *self._tasks, return_exceptions=True)

    async def _arrivals(self, client: aiomqtt.Client, duration_s: float | None) -> None:
        loop = asyncio.get_running_loop()
        end = None if duration_s is None else loop.time() + duration_s
        while end is None or loop.time() < end:
            self._seat_waiting(client)
            size = self.rng.choice((1, 2, 2, 2, 3, 4, 4, 5, 6))
            waiting = [e for e in self.waitlist if e.get("status") == "waiting"]
            free = [t for t in self._free() if self.tables[t] >= size]
            if free and not waiting:
                table = self.rng.choice(free)
                self.claimed.add(table)
                self._spawn(self._visit(client, table, size))
            elif self.api:
                await asyncio.to_thread(self._walk_in, size)
            pause = self.rng.uniform(*self.arrival_minutes) * self.minute_s
            await asyncio.sleep(pause if end is None else max(0.0, min(pause, end - loop.time())))

    def _free(self) -> list[str]:
        return [t for t, st in self.status.items() if st == "available" and t not in self.claimed]

    def _seat_waiting(self, client: aiomqtt.Client) -> None:
        """The host seats waiting parties at tables that are free (no page needed: they are
        standing at the stand), first come first served, each at the smallest table that fits."""
        for entry in self.waitlist:
            if entry.get("status") != "waiting" or entry["id"] in self.answered:
                continue
            size = int(entry["party_size"])
            fits = sorted(
                (t for t in self._free() if self.tables[t] >= size), key=self.tables.__getitem__
            )
            if not fits:
                continue
            self.answered.add(entry["id"])
            self.claimed.add(fits[0])
            self._spawn(self._walk_over(client, entry["id"], fits[0], size, walk=False))

    def _walk_in(self, size: int) -> None:
        size = min(size, max(self.tables.values()))  # a party the floor can seat
        self._pager = self._pager % 40 + 1
        body = {"name": self.rng.choice(NAMES), "party_size": size, "pager": self._pager}
        self._post("/api/v1/waitlist", body)

    def _answer_pages(self, client: aiomqtt.Client) -> None:
        for entry in self.waitlist:
            table = entry.get("table")
            if entry.get("status") != "paged" or not table or entry["id"] in self.answered:
                continue
            self.answered.add(entry["id"])
            self.claimed.add(table)
            self._spawn(self._walk_over(client, entry["id"], table, int(entry["party_size"])))

    async def _walk_over(
        self, client: aiomqtt.Client, entry: str, table: str, size: int, walk: bool = True
    ) -> None:
        """A paged party comes to the stand (`walk`) and is seated once the busser is done."""
        try:
            if walk and self.rng.random() < 0.08:
                return  # never shows: Floorlink re-pages, then marks the party left
            if walk:
                await self._wait(self.rng.uniform(0.5, 2.5))
            async with self._changed:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.status.get(table) == "available"),
                    30 * self.minute_s,
                )
            if await asyncio.to_thread(
                self._post, f"/api/v1/waitlist/{entry}/seat", {"table": table}
            ):
                self.seated_from_waitlist += 1
                await self._visit(client, table, size)
        except TimeoutError:
            pass
        finally:
            self.claimed.discard(table)

    def _timeline(self, guests: int) -> list[Step]:
        """One visit, as minutes after the check was opened."""
        rng = self.rng
        check = str(self._check)
        self._check += 1
        slow = 1.6 if rng.random() < 0.12 else 1.0  # lingering tables go LATE
        steps = [
            Step(
                0,
                ev.CheckOpened.TYPE,
                {"check": check, "guests": guests, "server": rng.choice(SERVERS)},
            )
        ]
        minute = 0.0
        for course, gap in (("apps", (4, 12)), ("entrees", (10, 20)), ("dessert", (25, 40))):
            if course == "dessert" and rng.random() < 0.5:
                continue
            minute += rng.uniform(*gap) * slow
            items = [
                {"name": name, "qty": rng.randint(1, guests), "price": price, "course": c}
                for name, c, price in DISHES
                if c == course and rng.random() < 0.7
            ] or [{"name": DISHES[0][0], "qty": 1, "price": DISHES[0][2], "course": "apps"}]
            steps.append(Step(minute, ev.CheckItemsAdded.TYPE, {"check": check, "items": items}))
            steps.append(Step(minute, ev.CheckCourseFired.TYPE, {"check": check, "course": course}))
        minute += rng.uniform(5, 15) * slow
        if rng.random() < 0.05:
            steps.append(Step(minute, ev.CheckVoided.TYPE, {"check": check}))
            return steps
        steps.append(Step(minute, ev.CheckPrinted.TYPE, {"check": check}))
        minute += rng.uniform(3, 25)  # some pay at once, some linger over the check
        total = f"{rng.uniform(30, 90) * guests:.2f}"
        tip = f"{float(total) * 0.18:.2f}"
        steps.append(
            Step(minute, ev.CheckClosed.TYPE, {"check": check, "total": total, "tip": tip})
        )
        minute += rng.uniform(10, 16) if rng.random() < 0.1 else rng.uniform(2, 6)
        steps.append(Step(minute, ev.TableCleared.TYPE, {}))
        return steps

    async def _visit(
        self, client: aiomqtt.Client, table: str, guests: int, opened_ago: float = 0.0
    ) -> None:
        """Play a visit: the steps already in the past at once with their times, the rest live."""
        guests = max(1, min(self.tables[table], guests))
        try:
            await self._play(client, table, self._timeline(guests), opened_ago)
        finally:
            self.claimed.discard(table)

    async def _play(
        self, client: aiomqtt.Client, table: str, steps: list[Step], opened_ago: float
    ) -> None:
        for step in steps:
            ago = opened_ago - step.minute
            if ago < 0:
                await self._wait(-ago)
                opened_ago = step.minute
                ago = 0.0
            fields = dict(step.fields)
            if step.type in (ev.CheckOpened.TYPE, ev.TableCleared.TYPE):
                fields["table"] = table
            await self._publish(client, step.type, minutes_ago=ago, **fields)

    async def _open_mid_service(self, client: aiomqtt.Client) -> None:
        """The evening so far: an earlier turn on most tables (what the quotes learn from), then
        every table occupied at some stage of its visit, each event stamped with its real time
        in the past; then a few parties on the waitlist."""
        rng = self.rng
        ids = list(self.tables)
        rng.shuffle(ids)
        stages = (
            ev.CheckPrinted.TYPE,
            ev.CheckClosed.TYPE,
            ev.CheckPrinted.TYPE,
            ev.TableCleared.TYPE,
        )
        for n, table in enumerate(ids):
            steps = self._timeline(max(1, min(self.tables[table], rng.choice((2, 2, 3, 4, 5)))))
            # Every stage on the floor: seated, check dropped (printed), bussing (closed).
            stage = next(
                (i for i, s in enumerate(steps) if s.type == stages[n % 4]), len(steps) - 1
            )
            opened_ago = rng.uniform(steps[stage - 1].minute, steps[stage].minute - 0.1)
            earlier = self._timeline(max(1, min(self.tables[table], rng.choice((2, 2, 4)))))
            past_open = opened_ago + earlier[-1].minute + rng.uniform(1, 10)
            if past_open <= HISTORY_MIN and rng.random() < 0.8:
                await self._play(client, table, earlier, past_open)
            self.claimed.add(table)
            past = [step for step in steps if step.minute <= opened_ago]
            await self._play(client, table, past, opened_ago)  # before run() can return
            self._spawn(self._continue(client, table, steps[len(past) :], opened_ago))
        if self.api:
            for _ in range(len(self.tables) // 4 + 3):  # more than the tables being bussed
                await asyncio.to_thread(self._walk_in, rng.choice((2, 2, 4, 5)))

    async def _continue(
        self, client: aiomqtt.Client, table: str, steps: list[Step], opened_ago: float
    ) -> None:
        try:
            await self._play(client, table, steps, opened_ago)
        finally:
            self.claimed.discard(table)
