"""A simulated dinner service: POS terminals publishing check events over MQTT, and walk-ins.

Used by `make demo`. Time runs fast (by default one simulated minute per real second) and the
service is realistic enough to watch: parties arrive, get seated by servers on three terminals,
fire apps, entrees and dessert, drop the check, pay, and the bussers clear the table. Now and
then a terminal resends an event (a duplicate) or an event arrives late, as real POS networks do.
"""

from __future__ import annotations

import asyncio
import json
import random
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiomqtt
import structlog

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


@dataclass
class Visit:
    check: str
    table: str
    guests: int
    steps: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)


class Simulator:
    def __init__(
        self,
        mqtt_port: int,
        tables: dict[str, int],
        api: str | None = None,
        token: str | None = None,
        minute_s: float = 1.0,
        seed: int = 7,
    ) -> None:
        self.mqtt_port = mqtt_port
        self.tables = tables
        self.api = api
        self.token = token
        self.minute_s = minute_s
        self.rng = random.Random(seed)
        self.busy: set[str] = set()
        self.sent = 0
        self._n = 0
        self._pager = 0

    def _at(self) -> str:
        return datetime.now(UTC).isoformat(timespec="seconds")

    async def _publish(
        self, client: aiomqtt.Client, etype: str, eid: str | None = None, **f: Any
    ) -> str:
        self._n += 1
        terminal = self.rng.choice(TERMINALS)
        eid = eid or f"{terminal}-{self._n}"
        body = {"id": eid, "type": etype, "at": self._at(), **f}
        await client.publish(f"floorlink/v1/pos/{terminal}/events", json.dumps(body), qos=1)
        self.sent += 1
        if self.rng.random() < 0.03:  # a terminal that did not see its ack resends
            await client.publish(f"floorlink/v1/pos/{terminal}/events", json.dumps(body), qos=1)
        return eid

    async def run(self, duration_s: float | None = None) -> None:
        async with aiomqtt.Client(
            "127.0.0.1", self.mqtt_port, identifier="floorlink-simulator"
        ) as client:
            tasks: set[asyncio.Task[None]] = set()
            loop = asyncio.get_running_loop()
            end = None if duration_s is None else loop.time() + duration_s
            check_no = 1000
            while end is None or loop.time() < end:
                free = [t for t in self.tables if t not in self.busy]
                if free and self.rng.random() < 0.5:
                    table = self.rng.choice(free)
                    check_no += 1
                    self.busy.add(table)
                    task = asyncio.create_task(self._visit(client, str(check_no), table))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if self.api and self.rng.random() < 0.15:
                    await asyncio.to_thread(self._walk_in)
                await asyncio.sleep(self.minute_s * self.rng.uniform(0.5, 2.0))
            for task in tasks:
                task.cancel()

    async def _wait(self, minutes: float) -> None:
        await asyncio.sleep(minutes * self.minute_s)

    async def _visit(self, client: aiomqtt.Client, check: str, table: str) -> None:
        guests = max(1, min(self.tables[table], self.rng.choice((1, 2, 2, 2, 3, 4, 4, 5, 6))))
        try:
            await self._publish(
                client,
                "check.opened",
                check=check,
                table=table,
                guests=guests,
                server=self.rng.choice(SERVERS),
            )
            for course in ("apps", "entrees", "dessert"):
                if course == "dessert" and self.rng.random() < 0.5:
                    continue
                await self._wait(self.rng.uniform(4, 15))
                items = [
                    {"name": name, "qty": self.rng.randint(1, guests), "price": price, "course": c}
                    for name, c, price in DISHES
                    if c == course and self.rng.random() < 0.7
                ] or [{"name": DISHES[0][0], "qty": 1, "price": DISHES[0][2], "course": "apps"}]
                await self._publish(client, "check.items_added", check=check, items=items)
                await self._publish(client, "check.course_fired", check=check, course=course)
            await self._wait(self.rng.uniform(3, 10))
            if self.rng.random() < 0.05:
                await self._publish(client, "check.voided", check=check)
            else:
                await self._publish(client, "check.printed", check=check)
                await self._wait(self.rng.uniform(2, 6))
                total = f"{self.rng.uniform(30, 90) * guests:.2f}"
                await self._publish(
                    client,
                    "check.closed",
                    check=check,
                    total=total,
                    tip=f"{float(total) * 0.18:.2f}",
                )
                if self.rng.random() < 0.1:  # a late course from a slow kitchen printer
                    await self._publish(client, "check.course_fired", check=check, course="dessert")
                await self._wait(self.rng.uniform(2, 5))
                await self._publish(client, "table.cleared", table=table)
        finally:
            self.busy.discard(table)

    def _next_pager(self) -> int:
        self._pager = self._pager % 40 + 1
        return self._pager

    def _walk_in(self) -> None:
        body = {
            "name": self.rng.choice(NAMES),
            "party_size": self.rng.choice((2, 2, 3, 4, 5)),
            "pager": self._next_pager(),
        }
        req = urllib.request.Request(
            f"{self.api}/api/v1/waitlist",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=5):
                pass
        except OSError as exc:
            log.debug("walk-in not added", error=str(exc))
