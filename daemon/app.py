"""The composition root: the one module that knows every part, and the FloorService it offers.

Start order: store (integrity, migrate, rebuild state) -> HTTP (healthz 503 until ready) -> broker
(republish retained tables, then `online`) -> outbox consumers -> READY. Stop in reverse within
5 s: stop intake, let the writer drain, publish `offline`, snapshot and checkpoint the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import structlog

from floorlink.bridge.service import CloudBridge
from floorlink.daemon import metrics, topics
from floorlink.daemon.clock import AliveMark, BoxClock
from floorlink.daemon.component import Health, Supervisor, TaskComponent
from floorlink.daemon.core.closed_checks import ClosedChecksPart
from floorlink.daemon.core.floor import STATUSES, TableSpec
from floorlink.daemon.core.quotes import TableView
from floorlink.daemon.core.reservations import (
    ReservationsPart,
    conflicts_view,
    guest_payload,
    link_stats,
)
from floorlink.daemon.core.reservations import next_due as reservations_due
from floorlink.daemon.core.servers import (
    SERVER_RE,
    ServersPart,
    assignments,
    covers_tonight,
    tonight_starts,
)
from floorlink.daemon.core.state import Input, Outcome, State
from floorlink.daemon.core.waitlist import (
    PagingRules,
    WaitlistPart,
    next_due,
    page_stands,
    quote_accuracy,
)
from floorlink.daemon.engine import Committed, Engine, RejectInput
from floorlink.daemon.janitor import IntegrityWatch, StoreJanitor
from floorlink.daemon.live_views import (
    reservations_at,
    reservations_copy,
    waitlist_at,
    waitlist_copy,
)
from floorlink.daemon.logs import Throttle
from floorlink.daemon.plugins import PAGER_PROTOCOLS
from floorlink.daemon.reserve import SpaceReserve
from floorlink.daemon.service import (
    JSON,
    AddToWaitlist,
    BlockTable,
    ClearTable,
    CommandResult,
    HostCommand,
    LiveKind,
    MarkLeft,
    PageParty,
    SeatFromWaitlist,
    SeatParty,
    UnblockTable,
)
from floorlink.daemon.sources import SourceContext, make_source
from floorlink.daemon.store import Store
from floorlink.daemon.terminal_activity import TerminalActivity
from floorlink.daemon.terminals import (
    NAME_RE,
    add_terminal,
    list_terminals,
    reload_broker,
    remove_terminal,
    terminal_topics,
)
from floorlink.daemon.version import version
from floorlink.drivers.mqtt import BrokerLink, BrokerSettings, Received
from floorlink.drivers.pos import TERMINAL_RE, PosRejected, parse_pos_event
from floorlink.paging.sender import PagerComponent, PagerSender, Transport, make_transport

if TYPE_CHECKING:
    from floorlink.daemon.config import Config

log = structlog.get_logger(__name__)
_throttle = Throttle()


def warn(event: str, **fields: Any) -> None:
    """A warning about outside input, rate-limited per reason."""
    _throttle.warning(log, event, **fields)


STOP_DRAIN_S = 3.0
SPACE_PROBE_S = 2.0
CLOCK_CHECK_S = 5.0
#: A restart shorter than this moves no timer (a quick restart is within a re-page's slack).
RESUME_MIN_MS = 60_000
OUTBOX_GAUGE_S = 1.0
#: How often the page is told when time alone changed the upcoming reservations.
VIEWS_TICK_S = 30.0


def _version() -> str:
    return version()


class App:
    """The daemon. Also the `FloorService` the HTTP layer and the host stand talk to."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.tz = ZoneInfo(config.site.timezone)
        self.specs = tuple(TableSpec(t.id, t.seats, t.section) for t in config.tables)
        self.layout = {t.id: t for t in config.tables}
        reserve = None
        if config.store.path != ":memory:":
            reserve_path = Path(config.store.path).with_suffix(".reserve")
            reserve = SpaceReserve(reserve_path, config.store.reserve_mb * 1024 * 1024)
        self.clock = BoxClock()
        self.alive = (
            AliveMark(Path(config.store.path).with_suffix(".alive"))
            if config.store.path != ":memory:"
            else None
        )
        self.clock_jump: JSON | None = None
        self._resumed = asyncio.Event()
        self.engine = Engine(
            Store(config.store.path),
            lambda: build_state(config),
            config.store.snapshot_every,
            clock=lambda: self.clock.now(),
            reserve=reserve,
        )
        # Live views: a copy per commit that changes the part, rendered at the time of each read.
        # The live estimates move with the floor: a fired course or a paid check rebuilds them.
        self.engine.view_builders["waitlist"] = (
            ("waitlist.", "check.", "table.", "host."),
            lambda state: waitlist_copy(_waitlist(state), state.floor),
        )
        self.engine.view_builders["quote_errors"] = (
            ("waitlist.",),
            lambda state: (_waitlist(state).quotes_recorded, list(_waitlist(state).errors[-50:])),
        )
        self._quotes_seen = 0
        self._waitlist_sent: list[JSON] | None = None
        # Quote against seat, per service day and party size (the status shows it).
        self.engine.view_builders["quote_accuracy"] = (
            ("waitlist.seated",),
            lambda state: quote_accuracy(_waitlist(state)),
        )
        self.engine.view_builders["reservations"] = (
            ("reservation.", "cloud.", "table.held", "table.released", "host.seated", "conflict."),
            lambda state: reservations_copy(_reservations(state)),
        )
        self.engine.view_builders["conflicts"] = (
            ("conflict.",),
            lambda state: conflicts_view(_reservations(state), self.tz),
        )
        self.engine.view_builders["links"] = (
            ("reservation.", "host.seated"),
            lambda state: link_stats(_reservations(state)),
        )
        self.engine.view_builders["guests"] = (
            ("host.", "check.", "table.", "reservation.", "cloud.", "waitlist.seat"),
            _guests,
        )
        self._guest_published: dict[str, JSON] = {}
        self.engine.view_builders["servers"] = (
            ("host.assigned",),
            lambda s: assignments(_servers(s)),
        )
        self._servers_published: dict[str, JSON] = {}
        self.bridge: CloudBridge | None = None
        if config.cloud is not None and config.cloud.url:
            self.bridge = CloudBridge(self.engine, config, self._on_cloud_state)
        self.port: Transport | None = None
        self.sender: PagerSender | None = None
        if config.pager is not None:
            p = config.pager
            plugin = PAGER_PROTOCOLS.get(p.protocol)
            protocol = plugin.factory(p.options())
            self.port = make_transport(protocol, p.port, p.baud)
            self.port.on_state_change(self._on_port_state)
            self.sender = PagerSender(
                self.engine,
                self.port,
                protocol,
                lambda payload: self._still_waiting(payload),
                ttl_seconds=p.ttl_seconds,
            )
        self._timer_wake = asyncio.Event()
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
            on_message=self._on_message,
            on_connect=self._on_broker_connect,
            on_state=self._on_broker_state,
        )
        self.engine.subscribe(self._on_committed)
        self.supervisor = Supervisor(on_change=lambda: self._broadcast("status", self.status()))
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
        sup.add(TaskComponent("paging.timers", self._timers))
        sup.add(TaskComponent("outbox.gauges", self._outbox_gauges))
        sup.add(TaskComponent("views.clock", self._roll_views))
        sup.add(TaskComponent("store.space", self._space_probe))
        sup.add(TaskComponent("clock.watch", self._watch_clock))
        if self.bridge is not None:
            for component in self.bridge.components:
                sup.add(component)
        context = SourceContext(
            self._submit_counted,
            self.tz,
            config.table_ids,
            lambda: self.clock.now(),
            config.table_names,
        )
        if self.sender is not None:
            sup.add(PagerComponent(self.sender))
        self.sources = [
            sup.add(make_source(entry.kind, entry.name, entry.options(), context))
            for entry in config.inputs
        ]
        self._live: list[asyncio.Queue[tuple[LiveKind, Any]]] = []
        self.terminal_activity = TerminalActivity()
        self.ready = asyncio.Event()
        self.store_open = False
        self.outbox_alarm = False
        self.outbox: dict[str, JSON] = {}

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        await self.engine.open()
        self.store_open = True
        self._quotes_seen = self.engine.views["quote_errors"][0]
        self._waitlist_sent = self.waitlist()  # what a stream's snapshot shows from here on
        self._update_table_gauges()
        log.info("store open", path=self.config.store.path, seq=self.engine.state.seq)
        last_alive = self.alive.read() if self.alive is not None else None  # before it is rewritten
        await self.supervisor.start()
        try:
            await self._resume_after_downtime(last_alive)
        finally:
            self._resumed.set()

    async def _resume_after_downtime(self, last: int | None) -> None:
        """The time the box was down is not the guests' fault: move the waitlist's timers by
        it (committed before any timer runs), so re-pages and give-ups resume where they stood."""
        if last is None:
            return
        gap = self.clock.now() - last
        if abs(gap) < RESUME_MIN_MS:
            return
        log.info("resuming after downtime", minutes=round(gap / 60000, 1))
        await self._shift("restart", gap)

    async def _shift(self, reason: str, gap: int) -> None:
        data = {"gap_ms": gap, "reason": reason}
        inp = Input("box", uuid.uuid4().hex, "box.resumed", self.clock.now(), data)
        res = await self.engine.submit(inp)
        if res.outcome.result != "accepted":
            log.error("could not move the waitlist's timers", error=res.outcome.error)

    async def _watch_clock(self) -> None:
        """Notice a wall-clock jump (NTP after boot, a hand-set clock): log it, show it, move the
        waitlist's timers with it; and mark the box alive for the next start's downtime."""
        while True:
            gap = self.clock.check()
            if gap is not None:
                minutes = round(gap / 60000, 1)
                metrics.CLOCK_JUMPS.inc()
                log.warning("the wall clock jumped: waits and timers are kept", minutes=minutes)
                self.clock_jump = {"minutes": minutes, "at": self.clock.now()}
                await self._shift("clock", gap)
                self._broadcast("status", self.status())
            if self.alive is not None:
                self.alive.write(self.clock.now())
            await asyncio.sleep(CLOCK_CHECK_S)

    @property
    def fatal(self) -> BaseException | None:
        """Set when a critical component (the store writer) failed: the daemon must stop."""
        return self.supervisor.fatal

    async def _space_probe(self) -> None:
        """While the disk is full, look for space every few seconds, so the box resumes (and says
        so) even when no event arrives to try."""
        while True:
            await asyncio.sleep(SPACE_PROBE_S)
            if not self.engine.writable and await self.engine.call(self.engine.check_space):
                self._broadcast("status", self.status())

    def _link_health(self) -> Health:
        return Health(self.link.connected, "" if self.link.connected else "broker not connected")

    async def wait_ready(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self.ready.wait(), timeout)

    async def stop(self) -> None:
        if self.alive is not None:
            self.alive.write(self.clock.now())
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

    # ---- broker --------------------------------------------------------------------------

    async def _on_broker_connect(self) -> None:
        """Retained state first, then `online`: whoever sees online sees every table."""
        for tid, obj in self.engine.tables.items():
            self.link.publish(topics.table(tid), json.dumps(obj).encode(), retain=True)
        self._servers_published = {}
        self._publish_servers()
        self.link.publish(topics.STATUS, topics.ONLINE, retain=True)

    def _on_broker_state(self, connected: bool) -> None:
        metrics.BROKER_CONNECTED.set(1 if connected else 0)
        if connected and self.store_open:
            self.ready.set()
        elif not connected:
            self.ready.clear()
        self._broadcast("status", self.status())

    def _on_message(self, msg: Received) -> None:
        """Every message is answered and acknowledged in arrival order, whatever it holds: a
        payload that cannot be taken becomes a dead letter with its reason, never a crash."""
        started = time.perf_counter()
        terminal = topics.terminal_of(msg.topic)
        inp: Input | RejectInput
        if terminal is None or not TERMINAL_RE.match(terminal):
            metrics.INVALID.labels("topic").inc()
            warn("message on an unexpected topic", topic=msg.topic[:200])
            inp = RejectInput("pos:?", None, "invalid", "unexpected topic", payload=msg.payload)
            terminal = None
        else:
            try:
                inp = parse_pos_event(terminal, msg.payload)
            except PosRejected as exc:
                if exc.reply_id is None:
                    metrics.INVALID.labels("unreadable").inc()
                warn("POS event rejected", terminal=terminal, id=exc.eid, error=exc.error)
                inp = RejectInput(
                    f"pos:{terminal}", exc.eid, "invalid", exc.error, exc.reply_id, msg.payload
                )
            except Exception as exc:  # a bug in parsing must not end intake
                metrics.INVALID.labels("internal").inc()
                log.exception("POS payload could not be parsed", terminal=terminal)
                error = f"Floorlink could not read this event: {type(exc).__name__}"
                inp = RejectInput(f"pos:{terminal}", None, "invalid", error, payload=msg.payload)
        fut = self.engine.submit_nowait(inp)
        fut.add_done_callback(lambda f: self._after_commit(msg, terminal, started, f))

    def _submit_counted(self, inp: Input | RejectInput) -> asyncio.Future[Committed]:
        """An input source's intake: the engine, with the same metrics as MQTT events."""
        fut = self.engine.submit_nowait(inp)

        def count(f: asyncio.Future[Committed]) -> None:
            if not f.cancelled() and f.exception() is None:
                metrics.EVENTS.labels(inp.type, f.result().outcome.result).inc()

        fut.add_done_callback(count)
        return fut

    def _after_commit(
        self, msg: Received, terminal: str | None, started: float, fut: asyncio.Future[Committed]
    ) -> None:
        if fut.cancelled() or fut.exception() is not None:
            return  # not stored: no PUBACK, the broker keeps it
        res = fut.result()
        self.link.ack(msg)
        inp, outcome = res.input, res.outcome
        metrics.EVENTS.labels(inp.type, outcome.result).inc()
        if res.tables:
            metrics.SYNC_LATENCY.observe(time.perf_counter() - started)
        reply_id = inp.reply_id if isinstance(inp, RejectInput) else inp.eid
        if terminal is not None:
            self.terminal_activity.record(
                terminal, inp.type, outcome.result, outcome.error, self.clock.now()
            )
        if terminal is not None and reply_id is not None:
            ack: dict[str, Any] = {"id": reply_id, "result": outcome.result}
            if outcome.result == "rejected":
                ack["error"] = outcome.error
            self.link.publish(topics.pos_acks(terminal), json.dumps(ack).encode())

    def _on_committed(self, batch: list[Committed]) -> None:
        metrics.COMMIT_BATCH.observe(len(batch))
        changed = False
        for res in batch:
            for tid, obj in res.tables.items():
                changed = True
                self.link.publish(topics.table(tid), json.dumps(obj).encode(), retain=True)
                self._broadcast("table", obj | self._layout(tid))
        if changed:
            self._update_table_gauges()
            if self.bridge is not None:
                self._timer_wake.set()  # a freed table may now be held for a reservation
        if "waitlist" in self.engine.views_changed:
            # rebuilt after POS events too (live estimates): sent only when it reads differently
            view = self.waitlist()
            if view != self._waitlist_sent:
                self._waitlist_sent = view
                self.link.publish(topics.WAITLIST, json.dumps(view).encode(), retain=True)
                self._broadcast("waitlist", view)
            self._timer_wake.set()
        if "quote_errors" in self.engine.views_changed:
            self._observe_quotes()
        if "quote_accuracy" in self.engine.views_changed:
            self._broadcast("status", self.status())
        if "reservations" in self.engine.views_changed:
            self._broadcast("reservations", self.reservations())
            self._timer_wake.set()
        if "conflicts" in self.engine.views_changed:
            for res in batch:
                for event in res.outcome.events:
                    if event.type == "conflict.detected":
                        metrics.CONFLICTS.labels(event.data["kind"]).inc()
                        log.warning("reconciliation conflict", **event.data)
            self._broadcast("status", self.status())
        if "servers" in self.engine.views_changed:
            self._publish_servers()
        if "guests" in self.engine.views_changed:
            self._publish_guests(self.engine.views.get("guests", {}))
        if self.bridge is not None and any(
            e.consumer == "cloud" for res in batch for e in res.outcome.effects
        ):
            self.bridge.pusher.wake()
        if self.sender is not None and any(
            e.consumer == "pager" for res in batch for e in res.outcome.effects
        ):
            self.sender.wake()

    def _update_table_gauges(self) -> None:
        counts = dict.fromkeys(STATUSES, 0)
        for obj in self.engine.tables.values():
            counts[obj["status"]] += 1
        for status, n in counts.items():
            metrics.TABLES.labels(status).set(n)

    # ---- FloorService --------------------------------------------------------------------

    def _layout(self, tid: str) -> JSON:
        t = self.layout[tid]
        return {"seats": t.seats, "section": t.section, "x": t.x, "y": t.y, "shape": t.shape}

    def tables(self) -> list[JSON]:
        return [self.engine.tables[tid] | self._layout(tid) for tid in self.layout]

    def waitlist(self) -> list[JSON]:
        """Rendered now: minutes waited and the recently-seated window follow the clock."""
        return waitlist_at(self.engine.views.get("waitlist"), self.tz, self.engine.clock())

    def _still_waiting(self, payload: Mapping[str, Any]) -> bool:
        """On the store thread: does this queued page still stand (its party waiting for it, at
        its table, and not withdrawn)?"""
        return page_stands(_waitlist(self.engine.state), payload)

    def _on_port_state(self, connected: bool) -> None:
        if connected:
            metrics.SERIAL_RECONNECTS.labels("pager").inc(0)
        elif self.port is not None and self.port.last_error:
            metrics.SERIAL_RECONNECTS.labels("pager").inc()
        self.supervisor.export_metrics()  # the pager component's health changed with its port
        self._broadcast("status", self.status())

    def _dues(self, now: int) -> dict[str, int | None]:
        """On the store thread: when each part next needs a timer input."""
        state = self.engine.state
        return {
            "waitlist.due": next_due(_waitlist(state), state.floor),
            "reservations.due": reservations_due(_reservations(state), now, _holdable(state)),
        }

    async def _timers(self) -> None:
        """Submit `waitlist.due` when a re-page or give-up is due (the core reads no clock)."""
        await self._resumed.wait()  # after the downtime has moved the timers, never before
        while True:
            self._timer_wake.clear()
            dues = await self.engine.call(self._dues, self.clock.now())
            pending = {kind: at for kind, at in dues.items() if at is not None}
            if not pending:
                await self._timer_wake.wait()
                continue
            kind, due = min(pending.items(), key=lambda kv: kv[1])
            delay = (due - self.clock.now()) / 1000
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._timer_wake.wait(), min(delay, 60))
                continue
            await self.engine.submit(Input("timer", f"{kind}:{due}", kind, self.clock.now(), {}))
            await asyncio.sleep(0.05)

    async def _roll_views(self) -> None:
        """Time moves the upcoming reservations with no event (one enters the window, a no-show
        leaves it): the host stand hears of it within VIEWS_TICK_S. Reads are always current."""
        last = self.reservations()
        while True:
            await asyncio.sleep(VIEWS_TICK_S)
            last = self._roll_once(last)

    def _roll_once(self, last: list[JSON]) -> list[JSON]:
        current = self.reservations()
        if current != last:
            self._broadcast("reservations", current)
        return current

    def reservations(self) -> list[JSON]:
        """Rendered now: the upcoming window rolls forward with the clock, not with events."""
        return reservations_at(self.engine.views.get("reservations"), self.tz, self.engine.clock())

    def _observe_quotes(self) -> None:
        recorded, recent = self.engine.views["quote_errors"]
        fresh = min(len(recent), recorded - self._quotes_seen)
        for error in recent[len(recent) - fresh :] if fresh > 0 else []:
            metrics.QUOTE_ERROR.observe(error)
        self._quotes_seen = recorded

    def _publish_guests(self, guests: dict[str, JSON]) -> None:
        """Retained guest details for the POS while a reservation is seated; cleared after."""
        for tid, payload in guests.items():
            if self._guest_published.get(tid) != payload:
                self.link.publish(
                    topics.table_guest(tid), json.dumps(payload).encode(), retain=True
                )
        for tid in set(self._guest_published) - set(guests):
            self.link.publish(topics.table_guest(tid), b"", retain=True)
        self._guest_published = dict(guests)

    def _publish_servers(self) -> None:
        """Each server's tables, retained; a server whose assignment ended is cleared."""
        current: dict[str, JSON] = self.engine.views.get("servers", {})
        for server, payload in current.items():
            if self._servers_published.get(server) != payload:
                self.link.publish(topics.server(server), json.dumps(payload).encode(), retain=True)
        for server in set(self._servers_published) - set(current):
            self.link.publish(topics.server(server), b"", retain=True)
        self._servers_published = dict(current)
        self._broadcast("servers", list(current.values()))

    async def servers(self) -> list[JSON]:
        """The servers for the shift: each one's assigned tables and sections, and covers and
        checks tonight from the POS (servers with checks but no assignment too)."""
        since = tonight_starts(self.clock.now(), self.tz, self.config.reports.cutoff)
        covers = await self.engine.call(lambda: covers_tonight(self.engine.state.floor, since))
        assigned: dict[str, JSON] = self.engine.views.get("servers", {})
        out = []
        for name in sorted(set(assigned) | set(covers)):
            row = assigned.get(name) or {"server": name, "tables": [], "sections": []}
            figures = covers.get(name, {"covers": 0, "checks": 0, "open": 0})
            out.append(
                row | {"covers": figures["covers"], "checks": figures["checks"],
                       "open_checks": figures["open"]}
            )  # fmt: skip
        return out

    async def assign_server(
        self, server: str, tables: list[str], sections: list[str]
    ) -> CommandResult:
        """The host assigns a server to tables and sections (empty lists: the shift ended)."""
        if not SERVER_RE.match(server.strip()):
            return CommandResult(
                False, status=422, error="server: 1-40 characters, without / + # or control ones"
            )
        data = {"server": server, "tables": tables, "sections": sections}
        return await self._host("host.assigned", data)

    def _on_cloud_state(self, up: bool) -> None:
        metrics.CLOUD_CONNECTED.set(1 if up else 0)
        self._broadcast("status", self.status())

    async def _outbox_gauges(self) -> None:
        """Outbox depth and age for /metrics, and the alarm when the cloud backlog is too big."""
        alarm = self.config.cloud.outbox_alarm_events if self.config.cloud else 0
        alarmed = False
        while True:
            stats = await self.engine.call(self.engine.store.outbox_stats)
            dead = await self.engine.call(self.engine.store.outbox_dead)
            now = self.clock.now()
            self.outbox = {}
            for consumer in ("cloud", "pager"):
                depth, oldest = stats.get(consumer, (0, None))
                metrics.OUTBOX_DEPTH.labels(consumer).set(depth)
                age = (now - oldest) / 1000 if oldest else 0
                metrics.OUTBOX_AGE.labels(consumer).set(age)
                metrics.OUTBOX_DEAD.labels(consumer).set(dead.get(consumer, 0))
                self.outbox[consumer] = {
                    "pending": depth,
                    "oldest_age_seconds": round(age, 1),
                    "dead": dead.get(consumer, 0),
                }
            depth = stats.get("cloud", (0, None))[0]
            if alarm and depth >= alarm and not alarmed:
                log.error("cloud outbox over its alarm size", pending=depth, alarm=alarm)
            alarmed = bool(alarm and depth >= alarm)
            self.outbox_alarm = alarmed
            self.supervisor.export_metrics()  # health can change without a phase change
            await asyncio.sleep(OUTBOX_GAUGE_S)

    def status(self) -> JSON:
        reasons = []
        if not self.store_open:
            reasons.append("the store is not open")
        if not self.link.connected:
            reasons.append("the MQTT broker is not connected")
        if self.fatal is not None:
            reasons.append(f"the store failed: {self.fatal}")
        if not self.engine.writable:
            reasons.append("the disk is full: new events are refused until space returns")
        components = {
            name: {
                "state": state.phase,
                "up": state.phase == "up" and health.up,
                "detail": health.detail or state.last_error,
                "restarts": state.restarts,
            }
            for name, (state, health) in self.supervisor.health().items()
        }
        return {
            "store": self.store_open and self.fatal is None,
            "store_writable": self.engine.writable,
            "clock_jump": self.clock_jump,
            "broker": self.link.connected,
            "cloud": "disabled" if self.bridge is None else ("ok" if self.bridge.up else "down"),
            "outbox_alarm": self.outbox_alarm,
            "outbox": self.outbox,
            "conflicts": self.engine.views.get("conflicts", [])[:10],
            "pager": "disabled" if self.port is None else ("ok" if self.port.connected else "down"),
            "ready": not reasons,
            "site": self.config.site.id,
            "site_name": self.config.site.name or self.config.site.id,
            "timezone": self.config.site.timezone,
            "version": _version(),
            "reasons": reasons,
            "degraded": self.supervisor.degraded(),
            "components": components,
            "rejections": self.rejections(),
            "quotes": self.engine.views.get("quote_accuracy"),
            "provider": None
            if self.bridge is None
            else {
                "name": self.bridge.provider.name,
                "cannot_supply": sorted(self.bridge.provider.cannot_supply),
            },
            "reservations_linked": self.engine.views.get("links"),
        }

    async def _known_reservation(self, rid: str) -> bool:
        return await self.engine.call(lambda: rid in _reservations(self.engine.state).reservations)

    async def _ensure_reservation(self, rid: str) -> None:
        """A reservation made a moment ago may not have been pulled yet: pull at once and wait
        (bounded) rather than answer "There is no reservation"."""
        if self.bridge is None or await self._known_reservation(rid):
            return
        log.info("host named an unknown reservation: pulling now", reservation=rid)
        await self.bridge.pull_now()

    def recent_documents(self, n: int = 10) -> dict[str, list[JSON]]:
        """Input source name -> its last `n` documents and what they became (receipt sources),
        for the page that helps IT tune a POS layout's patterns."""
        out: dict[str, list[JSON]] = {}
        for c in self.sources:
            recent = getattr(c, "recent", None)
            if callable(recent):
                out[c.name] = recent(n)
        return out

    async def command(self, cmd: HostCommand) -> CommandResult:
        if isinstance(cmd, SeatParty) and cmd.reservation and cmd.waitlist is None:
            await self._ensure_reservation(cmd.reservation)
        inp = self._host_input(cmd)
        if inp is None:
            return CommandResult(False, status=501, error="Not available yet.")
        try:
            res = await self.engine.submit(inp)
        except Exception as exc:
            return CommandResult(False, status=503, error=f"Floorlink cannot save right now: {exc}")
        result = _result(res.outcome, res.tables)
        entry = res.outcome.body.get("entry")
        if result.ok and entry:
            found = next((e for e in self.waitlist() if e["id"] == entry), None)
            return CommandResult(True, body=found or {"id": entry})
        return result

    async def _host(self, itype: str, data: dict[str, Any]) -> CommandResult:
        """A host action that is not a HostCommand (yet): decided and committed the same way."""
        try:
            res = await self.engine.submit(
                Input("host", uuid.uuid4().hex, itype, self.clock.now(), data)
            )
        except Exception as exc:
            return CommandResult(False, status=503, error=f"Floorlink cannot save right now: {exc}")
        return _result(res.outcome, res.tables)

    async def link_reservation(self, reservation: str, check: str | None) -> CommandResult:
        """Relink (check given) or unlink (None) a reservation and a POS check, from the stand.
        A host link is certain (confidence 1) and auto-linking never overrides it."""
        if check is None:
            return await self._host("reservation.unlink", {"reservation": reservation})
        return await self._host(
            "reservation.link", {"reservation": reservation, "check": check, "by": "host"}
        )

    async def partial_arrival(self, reservation: str, table: str, arrived: int) -> CommandResult:
        """ "2 of 4 here": hold `table` for the reservation without starting the turn (the whole
        party arrived: seated as usual)."""
        await self._ensure_reservation(reservation)
        return await self._host(
            "reservation.partial",
            {"reservation": reservation, "table": table, "arrived": arrived},
        )

    async def reservation_change(self, reservation: str) -> JSON:
        """The reservation's link and arrival as they stand (answers relink, unlink, partial)."""
        return await self.engine.call(self._reservation_change, reservation)

    def _reservation_change(self, reservation: str) -> JSON:
        """On the store thread."""
        part = _reservations(self.engine.state)
        r = part.reservations.get(reservation) or {}
        link = part.links.get(reservation) or {}
        return {
            "reservation": reservation,
            "check": link.get("check"),
            "link_confidence": link.get("confidence"),
            "linked_by": link.get("by"),
            "arrived": part.partial.get(reservation),
            "party_size": r.get("party_size"),
            "table": part.holds.get(reservation),
        }

    async def test_page(self, pager: int) -> CommandResult:
        """A test page to any pager number: committed as `pager.tested`, sent by the pager
        outbox and sender like every page, so a test proves the whole path."""
        if self.sender is None:
            return CommandResult(
                False, status=409, error="No pager transmitter is set up on this box ([pager])."
            )
        result = await self._host("pager.test", {"pager": pager})
        if not result.ok:
            return result
        test = str(result.body.get("test"))
        queued: JSON = {"test": test, "pager": pager, "delivery": "queued", "detail": None}
        return CommandResult(True, body=self.sender.tests.get(test) or queued)

    def pager_state(self) -> JSON:
        """The transmitter for the devices view: up or down and why, counts, the last tests."""
        if self.sender is None or self.port is None or self.config.pager is None:
            return {"state": "disabled", "tests": []}
        up = self.sender.up
        detail = None
        if not self.port.connected:
            detail = f"not connected: {self.port.last_error or 'waiting'}"
        elif not up and self.sender.last is not None:
            detail = f"does not answer: {self.sender.last.detail}"
        return {
            "state": "ok" if up else "down",
            "detail": detail,
            "protocol": self.config.pager.protocol,
            "port": self.config.pager.port,
            "sent": self.sender.sent,
            "failed": self.sender.failed,
            "expired": self.sender.expired,
            "tests": list(reversed(self.sender.tests.values())),
        }

    def _passwd(self) -> Path | None:
        path = self.config.mqtt.passwd_file
        return Path(path) if path else None

    def terminals(self) -> list[JSON]:
        """The POS terminals: those the broker's password file names and those that sent
        something since the start, each with its last event and its errors."""
        passwd = self._passwd()
        known = list_terminals(passwd) if passwd is not None else []
        return self.terminal_activity.view(known)

    def _no_passwd(self) -> CommandResult:
        return CommandResult(
            False,
            status=409,
            error="Terminals are managed with `floorlink add-terminal` on this box"
            " (set mqtt.passwd_file to manage them here).",
        )

    async def add_terminal(self, name: str) -> CommandResult:
        """`floorlink add-terminal` from the page: a new broker password for the terminal,
        shown once, and what to type into the POS."""
        passwd = self._passwd()
        if passwd is None:
            return self._no_passwd()
        if not NAME_RE.match(name):
            return CommandResult(False, status=422, error="name: 1-64 letters, digits, - or _")
        try:
            password = await asyncio.to_thread(add_terminal, name, passwd)
        except ValueError as exc:
            return CommandResult(False, status=422, error=str(exc))
        except (RuntimeError, OSError) as exc:
            log.error("could not add a terminal", terminal=name, error=str(exc))
            return CommandResult(False, status=503, error=f"Could not add the terminal: {exc}")
        reloaded = await self._reload_broker()
        log.info("terminal added from the host stand", terminal=name, broker_reloaded=reloaded)
        host = socket.gethostname().split(".")[0] + ".local"
        body: JSON = {
            "terminal": name,
            "password": password,
            "host": host,
            "port": self.config.mqtt.port,
            "client_id": f"pos-{name}",
            "topics": terminal_topics(name),
            "broker_reloaded": reloaded,
        }
        return CommandResult(True, body=body)

    async def remove_terminal(self, name: str) -> CommandResult:
        passwd = self._passwd()
        if passwd is None:
            return self._no_passwd()
        if name not in list_terminals(passwd):
            return CommandResult(False, status=404, error=f"There is no terminal {name}.")
        try:
            await asyncio.to_thread(remove_terminal, name, passwd)
        except ValueError as exc:  # a role's name, or gone meanwhile
            return CommandResult(False, status=404, error=str(exc))
        except (RuntimeError, OSError) as exc:
            log.error("could not remove a terminal", terminal=name, error=str(exc))
            return CommandResult(False, status=503, error=f"Could not remove the terminal: {exc}")
        reloaded = await self._reload_broker()
        self.terminal_activity.forget(name)
        log.info("terminal removed from the host stand", terminal=name, broker_reloaded=reloaded)
        return CommandResult(True, body={"terminal": name, "broker_reloaded": reloaded})

    async def _reload_broker(self) -> bool:
        if not self.config.mqtt.reload_broker:
            return False
        return await asyncio.to_thread(reload_broker)

    def rejections(self) -> JSON:
        """Vendor records that could not be placed (a table name matching no table), by source,
        with the latest reason: the stand shows them."""
        out: JSON = {}
        if self.bridge is not None and self.bridge.rejections:
            out[f"cloud:{self.bridge.provider.name}"] = {
                "count": self.bridge.rejections,
                "last": self.bridge.last_rejection,
            }
        for c in self.supervisor.components:
            count = getattr(c, "rejections", 0)
            if isinstance(count, int) and count:
                out[c.name] = {"count": count, "last": str(getattr(c, "last_rejection", ""))}
        return out

    def _host_input(self, cmd: HostCommand) -> Input | None:
        at = self.engine.clock()  # the one clock of the box (tests set it)
        eid = uuid.uuid4().hex
        mk: Callable[[str, dict[str, Any]], Input] = lambda t, d: Input("host", eid, t, at, d)  # noqa: E731
        match cmd:
            case SeatParty(table, _, _, str(entry), _):
                return mk("waitlist.seat", {"entry": entry, "table": table})
            case SeatParty(table, _, str(reservation), None, _) if self.bridge is not None:
                return mk("reservation.arrive", {"reservation": reservation, "table": table})
            case SeatParty(table, size, reservation, waitlist, name):
                data: dict[str, Any] = {"table": table, "party_size": size, "source": "walk_in"}
                if name:
                    data["name"] = name
                if reservation:
                    data["reservation"] = reservation
                    data["source"] = "reservation"
                if waitlist:
                    data["waitlist"] = waitlist
                    data["source"] = "waitlist"
                return mk("host.seated", data)
            case ClearTable(table):
                return mk("host.cleared", {"table": table})
            case BlockTable(table, reason):
                return mk("host.blocked", {"table": table, "reason": reason})
            case UnblockTable(table):
                return mk("host.unblocked", {"table": table})
            case AddToWaitlist(name, size, pager, phone, notes):
                body = {"name": name, "party_size": size, "pager": pager, "phone": phone}
                return mk("waitlist.add", body | {"notes": notes})
            case PageParty(entry):
                return mk("waitlist.page", {"entry": entry, "reason": "host"})
            case SeatFromWaitlist(entry, table):
                return mk("waitlist.seat", {"entry": entry, "table": table})
            case MarkLeft(entry):
                return mk("waitlist.left", {"entry": entry})

    def _broadcast(self, kind: LiveKind, payload: Any) -> None:
        for queue in self._live:
            if queue.full():  # a stalled viewer: drop its oldest change rather than our memory
                queue.get_nowait()
            queue.put_nowait((kind, payload))

    async def live(self) -> AsyncIterator[tuple[LiveKind, Any]]:
        queue: asyncio.Queue[tuple[LiveKind, Any]] = asyncio.Queue(maxsize=10_000)
        self._live.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._live.remove(queue)


def build_state(config: Config) -> State:
    """The state a config describes: the floor and the parts that fold beside it."""
    tz = ZoneInfo(config.site.timezone)
    specs = tuple(TableSpec(t.id, t.seats, t.section) for t in config.tables)
    views = tuple(TableView(t.id, t.seats, tuple(t.combine_with)) for t in config.tables)
    rules = PagingRules(
        trigger=config.paging.trigger,
        page_after_close_minutes=config.paging.page_after_close_minutes,
        heads_up_minutes=config.paging.heads_up_minutes,
        repage_after_minutes=config.paging.repage_after_minutes,
        max_pages=config.paging.max_pages,
        combine_tables=config.paging.combine_tables,
        alert_type=config.pager.alert_type if config.pager else 1,
        text_paging=config.pager is not None and config.pager.protocol == "sms",
    )
    cloud = bool(config.cloud and config.cloud.url)
    reservations = ReservationsPart(
        tz, config.paging.hold_window_minutes, country=config.site.country
    )
    waitlist = WaitlistPart(views, tz, rules)
    projection = ClosedChecksPart(readers=[waitlist.learn])
    state = State(specs, tz, cloud, [projection, waitlist, reservations, ServersPart()])
    projection.bind(state)
    return state


def _holdable(state: State) -> Callable[[str], bool | None]:
    """Can a reservation hold this table now: True, False (taken or held), None (no such table)."""

    def holdable(tid: str) -> bool | None:
        ts = state.floor.states.get(tid)
        if ts is None:
            return None
        return ts.status not in ("seated", "check_dropped", "bussing") and not ts.held_for

    return holdable


def _reservations(state: State) -> ReservationsPart:
    part = state.part("reservations")
    assert isinstance(part, ReservationsPart)
    return part


def _guests(state: State) -> dict[str, JSON]:
    """table -> the guest object for the POS, for every table seated from a reservation."""
    part = _reservations(state)
    out: dict[str, JSON] = {}
    for tid, ts in state.floor.states.items():
        rid = ts.party.reservation if ts.party else None
        if rid and ts.status in ("seated", "check_dropped"):
            payload = guest_payload(part, tid, rid)
            if payload is not None:
                out[tid] = payload
    return out


def _servers(state: State) -> ServersPart:
    part = state.part("servers")
    assert isinstance(part, ServersPart)
    return part


def _waitlist(state: State) -> WaitlistPart:
    part = state.part("waitlist")
    assert isinstance(part, WaitlistPart)
    return part


#: The HTTP status of each refusal reason (core/reasons.py): the core carries no HTTP status.
REASON_STATUS: dict[str, int] = {
    "unknown_table": 404,
    "unknown_section": 404,
    "unknown_entry": 404,
    "unknown_reservation": 404,
    "unknown_check": 404,
    "not_linked": 404,
    "unknown_type": 422,
    "missing_field": 422,
    "bad_field": 422,
    "invalid_input": 422,
    "wrong_status": 409,
    "party_too_large": 409,
    "nothing_due": 409,
    "not_stored": 500,
    "store_full": 503,
}


def status_for(reason: str | None) -> int:
    """The HTTP status a refusal with this reason is answered with."""
    return REASON_STATUS.get(reason or "", 409)


def _result(outcome: Outcome, tables: dict[str, JSON]) -> CommandResult:
    if outcome.result == "rejected":
        return CommandResult(False, status=status_for(outcome.reason), error=outcome.error)
    body: JSON = dict(outcome.body)
    if tables and not body:
        body = next(iter(tables.values()))
    return CommandResult(True, body=body)
