"""The box's health as the banner, /healthz, /api/v1/status and /metrics show it.

One place gathers what each part reports (the store, the broker, the cloud, the pager
transmitter, every supervised component, the outbox backlog, refused vendor records), so the
page, the probes and the metrics never disagree about what is wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from floorlink.daemon import metrics
from floorlink.daemon.service import JSON
from floorlink.daemon.version import version

if TYPE_CHECKING:
    from floorlink.bridge.service import CloudBridge
    from floorlink.daemon.component import Component, Supervisor
    from floorlink.daemon.config import Config
    from floorlink.daemon.engine import Engine
    from floorlink.daemon.timers import Timers
    from floorlink.drivers.mqtt import BrokerLink
    from floorlink.paging.sender import PagerSender, Transport

log = structlog.get_logger(__name__)

SPACE_PROBE_S = 2.0
OUTBOX_GAUGE_S = 1.0


class StatusBoard:
    def __init__(
        self,
        config: Config,
        engine: Engine,
        link: BrokerLink,
        supervisor: Supervisor,
        timers: Timers,
        bridge: CloudBridge | None,
        port: Transport | None,
        sender: PagerSender | None,
        store_open: Callable[[], bool],
        changed: Callable[[], None],
    ) -> None:
        self.config = config
        self.engine = engine
        self.link = link
        self.supervisor = supervisor
        self.timers = timers
        self.bridge = bridge
        self.port = port
        self.sender = sender
        self.store_open = store_open
        self.changed = changed
        self.outbox_alarm = False
        self.outbox: dict[str, JSON] = {}

    def status(self) -> JSON:
        fatal = self.supervisor.fatal
        store_open = self.store_open()
        reasons = []
        if not store_open:
            reasons.append("the store is not open")
        if not self.link.connected:
            reasons.append("the MQTT broker is not connected")
        if fatal is not None:
            reasons.append(f"the store failed: {fatal}")
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
        bridge = self.bridge
        return {
            "store": store_open and fatal is None,
            "store_writable": self.engine.writable,
            "clock_jump": self.timers.clock_jump,
            "broker": self.link.connected,
            "cloud": "disabled" if bridge is None else ("ok" if bridge.up else "down"),
            "outbox_alarm": self.outbox_alarm,
            "outbox": self.outbox,
            "conflicts": self.engine.views.get("conflicts", [])[:10],
            "pager": "disabled" if self.port is None else ("ok" if self.port.connected else "down"),
            "ready": not reasons,
            "site": self.config.site.id,
            "site_name": self.config.site.name or self.config.site.id,
            "timezone": self.config.site.timezone,
            "version": version(),
            "reasons": reasons,
            "degraded": self.supervisor.degraded(),
            "components": components,
            "rejections": self.rejections(),
            "quotes": self.engine.views.get("quote_accuracy"),
            "provider": None if bridge is None else _provider(bridge),
            "reservations_linked": self.engine.views.get("links"),
        }

    def rejections(self) -> JSON:
        """Vendor records that could not be placed (a table name matching no table), by source,
        with the latest reason: the stand shows them."""
        out: JSON = {}
        if self.bridge is not None and self.bridge.rejections:
            out[f"cloud:{self.bridge.provider.name}"] = {
                "count": self.bridge.rejections,
                "last": self.bridge.last_rejection,
            }
        components: list[Component] = self.supervisor.components
        for c in components:
            count = getattr(c, "rejections", 0)
            if isinstance(count, int) and count:
                out[c.name] = {"count": count, "last": str(getattr(c, "last_rejection", ""))}
        return out

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

    async def probe_space(self) -> None:
        """While the disk is full, look for space every few seconds, so the box resumes (and says
        so) even when no event arrives to try."""
        while True:
            await asyncio.sleep(SPACE_PROBE_S)
            if not self.engine.writable and await self.engine.call(self.engine.check_space):
                self.changed()

    async def outbox_gauges(self) -> None:
        """Outbox depth and age for /metrics, and the alarm when the cloud backlog is too big."""
        alarm = self.config.cloud.outbox_alarm_events if self.config.cloud else 0
        alarmed = False
        while True:
            stats = await self.engine.call(self.engine.store.outbox_stats)
            dead = await self.engine.call(self.engine.store.outbox_dead)
            now = self.engine.clock()
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


def _provider(bridge: CloudBridge) -> JSON:
    return {"name": bridge.provider.name, "cannot_supply": sorted(bridge.provider.cannot_supply)}
