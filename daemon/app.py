"""The composition root: the one module that knows every part, wires them, starts and stops them.

Start order: store (integrity, migrate, rebuild state) -> HTTP (healthz 503 until ready) -> broker
(republish retained tables, then `online`) -> outbox consumers -> READY. Stop in reverse within
5 s: stop intake, let the writer drain, publish `offline`, snapshot and checkpoint the store.

Each job lives in its own module: `parts` (the state and its views), `reads`, `publisher`
(retained MQTT and the live stream), `pos_intake`, `host_actions`, `terminal_admin`, `timers`
and `status`. `App` is also the `FloorService` the HTTP layer talks to, by delegation.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from floorlink.bridge.service import CloudBridge
from floorlink.daemon import guest_service as guests
from floorlink.daemon import metrics, topics
from floorlink.daemon.clock import AliveMark, BoxClock
from floorlink.daemon.component import Health, Supervisor, TaskComponent
from floorlink.daemon.core.waitlist import page_stands
from floorlink.daemon.engine import Committed, Engine
from floorlink.daemon.floor_admin import FloorAdmin, seed_tables
from floorlink.daemon.host_actions import HostActions
from floorlink.daemon.janitor import IntegrityWatch, StoreJanitor
from floorlink.daemon.live_stream import LiveStream
from floorlink.daemon.parts import build_state, register_views, waitlist_of
from floorlink.daemon.plugins import PAGER_PROTOCOLS
from floorlink.daemon.pos_intake import PosIntake
from floorlink.daemon.profiles import LiveProfiles
from floorlink.daemon.publisher import Publisher
from floorlink.daemon.reads import Reads
from floorlink.daemon.reserve import SpaceReserve
from floorlink.daemon.routes import REASON_STATUS, status_for
from floorlink.daemon.service import JSON, CommandResult, HostCommand, LiveKind
from floorlink.daemon.sources import SourceContext, make_source
from floorlink.daemon.status import StatusBoard
from floorlink.daemon.store import Store
from floorlink.daemon.terminal_activity import TerminalActivity
from floorlink.daemon.terminal_admin import TerminalAdmin
from floorlink.daemon.timers import Timers
from floorlink.drivers.mqtt import BrokerLink, BrokerSettings
from floorlink.paging.sender import PagerComponent, PagerSender, Transport, make_transport

if TYPE_CHECKING:
    from floorlink.daemon.config import Config

# Kept importable from here for the tools and tests that name them.
__all__ = ["REASON_STATUS", "App", "build_state", "status_for"]

log = structlog.get_logger(__name__)

STOP_DRAIN_S = 3.0


class App:
    """The daemon. Also the `FloorService` the HTTP layer and the host stand talk to."""

    def __init__(self, config: Config, config_path: Path | None = None) -> None:
        self.config = config
        self.floor_admin = FloorAdmin(self, config_path)
        store_path = config.store.path
        on_disk = store_path != ":memory:"
        reserve = None
        if on_disk:
            reserve_path = Path(store_path).with_suffix(".reserve")
            reserve = SpaceReserve(reserve_path, config.store.reserve_mb * 1024 * 1024)
        self.clock = BoxClock()
        alive = AliveMark(Path(store_path).with_suffix(".alive")) if on_disk else None
        store = Store(store_path)
        self.engine = Engine(
            store,
            lambda: build_state(config, seed_tables(store)),  # the floor the log starts from
            config.store.snapshot_every,
            clock=lambda: self.clock.now(),
            reserve=reserve,
            projections=[LiveProfiles.of(config)],
        )
        self.reads = Reads(self.engine, config)
        self.tz = self.reads.tz
        register_views(self.engine, self.tz)
        guests.register_summaries(self.engine, config.site.country)
        self.stream = LiveStream()
        self.timers = Timers(self.engine, self.clock, alive, self._status_changed)

        self.bridge: CloudBridge | None = None
        if config.cloud is not None and config.cloud.url:
            self.bridge = CloudBridge(self.engine, config, self._on_cloud_state)
        self.port: Transport | None = None
        self.sender: PagerSender | None = None
        if config.pager is not None:
            p = config.pager
            protocol = PAGER_PROTOCOLS.get(p.protocol).factory(p.options())
            self.port = make_transport(protocol, p.port, p.baud)
            self.port.on_state_change(self._on_port_state)
            self.sender = PagerSender(
                self.engine,
                self.port,
                protocol,
                lambda payload: page_stands(waitlist_of(self.engine.state), payload),
                ttl_seconds=p.ttl_seconds,
            )

        self.terminal_activity = TerminalActivity()
        self.intake = PosIntake(
            self.engine, lambda: self.link, self.terminal_activity, self.clock.now
        )
        mq = config.mqtt
        self.link = BrokerLink(
            BrokerSettings(
                host=mq.host,
                port=mq.port,
                client_id=mq.client_id or f"floorlink-{config.site.id}",
                username=mq.username,
                password=mq.password,
                tls=mq.tls,
                ca_file=str(mq.ca_file) if mq.ca_file else None,
                keepalive=mq.keepalive,
            ),
            subscriptions=[topics.POS_EVENTS],
            will=(topics.STATUS, topics.OFFLINE),
            on_message=self.intake.on_message,
            on_connect=self._on_broker_connect,
            on_state=self._on_broker_state,
        )
        self.publisher = Publisher(self.engine, self.link, self.reads, self.stream, self.status)
        self.host = HostActions(self.engine, self.reads.waitlist, self.bridge, self.sender)
        self.terminal_admin = TerminalAdmin(config.mqtt, self.terminal_activity)
        self.engine.subscribe(self._on_committed)

        self.supervisor = Supervisor(on_change=self._status_changed)
        self.board = StatusBoard(
            config,
            self.engine,
            self.link,
            self.supervisor,
            self.timers,
            self.bridge,
            self.port,
            self.sender,
            lambda: self.store_open,
            self._status_changed,
        )
        sup = self.supervisor
        sup.add(TaskComponent("store.writer", self.engine.run, critical=True))
        every_s = config.store.prune_every_minutes * 60
        self.janitor = StoreJanitor(
            self.engine,
            config.store.outbox_retention_days,
            every_s,
            rejected_days=config.store.rejected_retention_days,
        )
        sup.add(self.janitor)
        sup.add(IntegrityWatch(self.engine, every_s))
        sup.add(TaskComponent("mqtt.link", self.link.run, self._link_health))
        sup.add(TaskComponent("paging.timers", self.timers.run))
        sup.add(TaskComponent("outbox.gauges", self.board.outbox_gauges))
        sup.add(TaskComponent("views.clock", self.publisher.roll_views))
        sup.add(TaskComponent("store.space", self.board.probe_space))
        sup.add(TaskComponent("clock.watch", self.timers.watch_clock))
        if self.bridge is not None:
            for component in self.bridge.components:
                sup.add(component)
        context = SourceContext(
            self.intake.submit_counted,
            self.tz,
            config.table_ids,
            self.clock.now,
            config.table_names,
            sup.changed,
        )
        if self.sender is not None:
            sup.add(PagerComponent(self.sender))
        self.sources = [
            sup.add(make_source(entry.kind, entry.name, entry.options(), context))
            for entry in config.inputs
        ]
        self.ready = asyncio.Event()
        self.store_open = False

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        await self.engine.open()
        self.store_open = True
        self.publisher.opened()
        log.info("store open", path=self.config.store.path, seq=self.engine.state.seq)
        alive = self.timers.alive
        last_alive = alive.read() if alive is not None else None  # before it is rewritten
        floor = self.floor_admin.submit_config(self.config)  # first in the queue: before any POS
        await self.supervisor.start()
        await self.floor_admin.settle_start(floor)
        await self.timers.resume(last_alive)

    @property
    def fatal(self) -> BaseException | None:
        """Set when a critical component (the store writer) failed: the daemon must stop."""
        return self.supervisor.fatal

    async def wait_ready(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self.ready.wait(), timeout)

    async def stop(self) -> None:
        self.timers.mark_alive()
        await self.supervisor.stop(self.sources)
        await self.link.stop()
        deadline = time.monotonic() + STOP_DRAIN_S
        while self.engine.backlog and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await asyncio.sleep(0)  # let the last acks go out
        with contextlib.suppress(Exception):
            await self.link.publish_wait(topics.STATUS, topics.OFFLINE)
        await self.supervisor.stop()
        if self.bridge is not None:
            await self.bridge.close()
        if self.store_open:
            await self.engine.close()
            self.store_open = False

    # ---- wiring: what one part tells the others -------------------------------------------

    def _status_changed(self) -> None:
        self.stream.broadcast("status", self.status())

    def _link_health(self) -> Health:
        return Health(self.link.connected, "" if self.link.connected else "broker not connected")

    async def _on_broker_connect(self) -> None:
        """Retained state first, then `online`: whoever sees online sees every table."""
        self.publisher.on_broker_connect()
        self.link.publish(topics.STATUS, topics.ONLINE, retain=True)

    def _on_broker_state(self, connected: bool) -> None:
        metrics.BROKER_CONNECTED.set(1 if connected else 0)
        if connected and self.store_open:
            self.ready.set()
        elif not connected:
            self.ready.clear()
        self._status_changed()

    def _on_committed(self, batch: list[Committed]) -> None:
        """Publish what the batch changed, then wake whoever has new work from it."""
        metrics.COMMIT_BATCH.observe(len(batch))
        floor = self.floor_admin.on_committed(
            batch, lambda topic, body: self.link.publish(topic, body, retain=True)
        )
        self.publisher.on_committed(batch)
        if floor is not None:  # the floor changed: every tablet redraws it
            self.publisher.update_table_gauges()
            self.stream.broadcast("floor", floor["tables"])
        views = self.engine.views_changed
        freed = self.bridge is not None and any(res.tables for res in batch)
        if freed or "waitlist" in views or "reservations" in views:
            self.timers.wake()  # a due time may have moved (a freed table may now be held)
        effects = {e.consumer for res in batch for e in res.outcome.effects}
        if self.bridge is not None and "cloud" in effects:
            self.bridge.pusher.wake()
        if self.sender is not None and "pager" in effects:
            self.sender.wake()

    def _on_port_state(self, connected: bool) -> None:
        if connected:
            metrics.SERIAL_RECONNECTS.labels("pager").inc(0)
        elif self.port is not None and self.port.last_error:
            metrics.SERIAL_RECONNECTS.labels("pager").inc()
        self.supervisor.export_metrics()  # the pager component's health changed with its port
        self._status_changed()

    def _on_cloud_state(self, up: bool) -> None:
        metrics.CLOUD_CONNECTED.set(1 if up else 0)
        self._status_changed()

    # ---- FloorService (daemon/service.py), by delegation ----------------------------------

    def tables(self) -> list[JSON]:
        return self.reads.tables()

    def waitlist(self) -> list[JSON]:
        return self.reads.waitlist()

    def floor(self) -> JSON:
        return self.floor_admin.floor()

    async def validate_floor(self, tables: list[JSON]) -> CommandResult:
        return await self.floor_admin.validate(tables)

    async def apply_floor(self, tables: list[JSON]) -> CommandResult:
        return await self.floor_admin.apply(tables)

    def reservations(self) -> list[JSON]:
        return self.reads.reservations()

    async def servers(self) -> list[JSON]:
        return await self.reads.servers()

    # guests and reports: the logic is daemon/guest_service.py

    async def report(
        self, name: str, day: str | None, since: str | None, until: str | None
    ) -> CommandResult:
        return await guests.report(self.config, name, self.clock.now(), day, since, until)

    async def guest(self, phone: str | None, email: str | None) -> JSON | None:
        found: JSON | None = await guests.lookup(self.engine, self.config, phone, email)
        return found

    async def guest_merges(self) -> JSON:
        return await guests.merges(self.engine)

    async def merge_guests(self, a: str, b: str) -> CommandResult:
        return await guests.merge(self.engine, a, b, "host", self.clock.now())

    async def unmerge_guests(self, merge: str) -> CommandResult:
        return await guests.unmerge(self.engine, merge, "host", self.clock.now())

    async def erase_guest(self, phone: str | None, email: str | None) -> CommandResult:
        result = await guests.erase(self.engine, self.config, phone, email, self.clock.now())
        self.publisher.on_broker_connect()  # retained tables again: a name may be on one
        return result

    async def purge_guests(self) -> CommandResult:
        result = await guests.purge(self.engine, self.config, self.clock.now())
        self.publisher.on_broker_connect()
        return result

    async def reservation_change(self, reservation: str) -> JSON:
        return await self.reads.reservation_change(reservation)

    def status(self) -> JSON:
        return self.board.status()

    def rejections(self) -> JSON:
        return self.board.rejections()

    def pager_state(self) -> JSON:
        return self.board.pager_state()

    async def command(self, cmd: HostCommand) -> CommandResult:
        return await self.host.command(cmd)

    async def link_reservation(self, reservation: str, check: str | None) -> CommandResult:
        return await self.host.link_reservation(reservation, check)

    async def partial_arrival(self, reservation: str, table: str, arrived: int) -> CommandResult:
        return await self.host.partial_arrival(reservation, table, arrived)

    async def test_page(self, pager: int) -> CommandResult:
        return await self.host.test_page(pager)

    async def assign_server(
        self, server: str, tables: list[str], sections: list[str]
    ) -> CommandResult:
        return await self.host.assign_server(server, tables, sections)

    def terminals(self) -> list[JSON]:
        return self.terminal_admin.terminals()

    async def add_terminal(self, name: str) -> CommandResult:
        return await self.terminal_admin.add(name)

    async def remove_terminal(self, name: str) -> CommandResult:
        return await self.terminal_admin.remove(name)

    def recent_documents(self, n: int = 10) -> dict[str, list[JSON]]:
        """Input source name -> its last `n` documents and what they became (receipt sources),
        for the page that helps IT tune a POS layout's patterns."""
        out: dict[str, list[JSON]] = {}
        for c in self.sources:
            recent = getattr(c, "recent", None)
            if callable(recent):
                out[c.name] = recent(n)
        return out

    def live(self) -> AsyncIterator[tuple[LiveKind, Any]]:
        return self.stream.follow()
