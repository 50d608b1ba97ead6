"""What a commit shows outside: retained MQTT state, the live stream and the floor's gauges.

Only committed state is ever published. Retained topics (tables, the waitlist, each server's
tables, the guest of a seated reservation) are sent when they read differently, so a reconnecting
POS sees the floor as it stands; the live stream tells the page the same changes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from floorlink.daemon import metrics, topics
from floorlink.daemon.core.events import ConflictDetected
from floorlink.daemon.core.floor import STATUSES
from floorlink.daemon.live_stream import LiveStream
from floorlink.daemon.reads import Reads
from floorlink.daemon.service import JSON

if TYPE_CHECKING:
    from floorlink.daemon.engine import Committed, Engine
    from floorlink.drivers.mqtt import BrokerLink

log = structlog.get_logger(__name__)

#: How often the page is told when time alone changed the upcoming reservations.
VIEWS_TICK_S = 30.0


class Publisher:
    def __init__(
        self,
        engine: Engine,
        link: BrokerLink,
        reads: Reads,
        stream: LiveStream,
        status: Callable[[], JSON],
    ) -> None:
        self.engine = engine
        self.link = link
        self.reads = reads
        self.stream = stream
        self.status = status
        self._quotes_seen = 0
        self._waitlist_sent: list[JSON] | None = None
        self._guests_sent: dict[str, JSON] = {}
        self._servers_sent: dict[str, JSON] = {}

    def opened(self) -> None:
        """After the store is open: what was already recorded and shown is not news."""
        self._quotes_seen = self.engine.views["quote_errors"][0]
        self._waitlist_sent = self.reads.waitlist()  # what a stream's snapshot shows from here on
        self.update_table_gauges()

    def on_broker_connect(self) -> None:
        """Retained state first (the caller sends `online` after): whoever sees online sees
        every table."""
        for tid, obj in self.engine.tables.items():
            self._retain(topics.table(tid), obj)
        self._servers_sent = {}
        self.publish_servers()

    def on_committed(self, batch: list[Committed]) -> None:
        """Publish what this batch changed."""
        changed = False
        for res in batch:
            for tid, obj in res.tables.items():
                changed = True
                self._retain(topics.table(tid), obj)
                self.stream.broadcast("table", obj | self.reads.layout_of(tid))
        if changed:
            self.update_table_gauges()
        views = self.engine.views_changed
        if "waitlist" in views:
            # rebuilt after POS events too (live estimates): sent only when it reads differently
            view = self.reads.waitlist()
            if view != self._waitlist_sent:
                self._waitlist_sent = view
                self.link.publish(topics.WAITLIST, json.dumps(view).encode(), retain=True)
                self.stream.broadcast("waitlist", view)
        if "quote_errors" in views:
            self._observe_quotes()
        if "quote_accuracy" in views:
            self.stream.broadcast("status", self.status())
        if views & {"reservations", "guest_summaries"}:  # a visit summary is on each row
            self.stream.broadcast("reservations", self.reads.reservations())
        if "conflicts" in views:
            for res in batch:
                for event in res.outcome.events:
                    if event.type == ConflictDetected.TYPE:
                        metrics.CONFLICTS.labels(event.data["kind"]).inc()
                        log.warning("reconciliation conflict", **event.data)
            self.stream.broadcast("status", self.status())
        if "servers" in views:
            self.publish_servers()
        if "guests" in views:
            self._publish_guests(self.engine.views.get("guests", {}))

    def _retain(self, topic: str, obj: JSON) -> None:
        self.link.publish(topic, json.dumps(obj).encode(), retain=True)

    def update_table_gauges(self) -> None:
        counts = dict.fromkeys(STATUSES, 0)
        for obj in self.engine.tables.values():
            counts[obj["status"]] += 1
        for status, n in counts.items():
            metrics.TABLES.labels(status).set(n)

    def _observe_quotes(self) -> None:
        recorded, recent = self.engine.views["quote_errors"]
        fresh = min(len(recent), recorded - self._quotes_seen)
        for error in recent[len(recent) - fresh :] if fresh > 0 else []:
            metrics.QUOTE_ERROR.observe(error)
        self._quotes_seen = recorded

    def _publish_guests(self, guests: dict[str, JSON]) -> None:
        """Retained guest details for the POS while a reservation is seated; cleared after."""
        for tid, payload in guests.items():
            if self._guests_sent.get(tid) != payload:
                self._retain(topics.table_guest(tid), payload)
        for tid in set(self._guests_sent) - set(guests):
            self.link.publish(topics.table_guest(tid), b"", retain=True)
        self._guests_sent = dict(guests)

    def publish_servers(self) -> None:
        """Each server's tables, retained; a server whose assignment ended is cleared."""
        current: dict[str, JSON] = self.engine.views.get("servers", {})
        for server, payload in current.items():
            if self._servers_sent.get(server) != payload:
                self._retain(topics.server(server), payload)
        for server in set(self._servers_sent) - set(current):
            self.link.publish(topics.server(server), b"", retain=True)
        self._servers_sent = dict(current)
        self.stream.broadcast("servers", list(current.values()))

    async def roll_views(self) -> None:
        """Time moves the upcoming reservations with no event (one enters the window, a no-show
        leaves it): the host stand hears of it within VIEWS_TICK_S. Reads are always current."""
        last = self.reads.reservations()
        while True:
            await asyncio.sleep(VIEWS_TICK_S)
            last = self.roll_once(last)

    def roll_once(self, last: list[JSON]) -> list[JSON]:
        current = self.reads.reservations()
        if current != last:
            self.stream.broadcast("reservations", current)
        return current
