"""One lifecycle for every long-running piece, and the supervisor that keeps the edges running.

A `Component` (POS intake, the MQTT publisher, the pager sender, cloud pull and push, timers, the
HTTP server, discovery, an input source) has `start` (open what it needs), `run` (the work, until
cancelled), `stop` (release what start opened) and `health`. The `Supervisor` starts them in order
and stops them in reverse. When an edge component's `start` or `run` raises, it is logged, counted
(`floorlink_component_restarts_total{component}`), stopped, and started again after a backoff; a
*critical* component (the store writer) that fails makes the daemon fatal instead, because carrying
on without it would acknowledge nothing. zigpy's application controller and Frigate's process
watchdog do the same for radios and cameras.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import structlog

from floorlink.daemon import metrics

log = structlog.get_logger(__name__)

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
#: A component that ran this long before failing starts again from the shortest backoff.
STABLE_AFTER_S = 60.0

Phase = Literal["starting", "up", "degraded", "restarting", "stopped", "failed"]


@dataclass(frozen=True, slots=True)
class Health:
    """What a component says of itself: `up` False means it runs but cannot do its job now
    (the pager port is unplugged, the cloud does not answer). `detail` is for a person."""

    up: bool = True
    detail: str = ""


class Component:
    """Base class: override `run`, and `start` / `stop` / `health` where there is something to do.

    `critical` components are the core: their failure stops the daemon (systemd restarts it).
    Every other component is an edge, restarted by the supervisor with backoff."""

    name: str = "component"
    critical: bool = False

    async def start(self) -> None:
        """Open what the component needs. Raising counts as a failure (restarted with backoff)."""

    async def run(self) -> None:
        """The work, until cancelled. Returning ends the component without a restart."""
        await asyncio.Event().wait()

    async def stop(self) -> None:
        """Release what `start` opened. Called after `run` ended, also after a failure."""

    def health(self) -> Health:
        return Health()


@dataclass(slots=True)
class ComponentState:
    phase: Phase = "starting"
    restarts: int = 0
    last_error: str | None = None
    since: float = 0.0


class Supervisor:
    """Runs components, restarts edge ones that fail, reports every one's state."""

    def __init__(self, on_change: Callable[[], None] = lambda: None) -> None:
        self.components: list[Component] = []
        self.states: dict[str, ComponentState] = {}
        self.fatal: BaseException | None = None
        self.fatal_event = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._on_change = on_change

    def add(self, component: Component) -> Component:
        if component.name in self.states:
            raise ValueError(f"two components named {component.name!r}")
        self.components.append(component)
        self.states[component.name] = ComponentState()
        metrics.COMPONENT_RESTARTS.labels(component.name).inc(0)
        return component

    async def start(self, component: Component | None = None) -> None:
        """Start one component, or all in the order they were added (each `start` awaited, so
        what a later one needs is already open)."""
        for c in [component] if component is not None else self.components:
            if c.name not in self.states:
                self.add(c)
            ready = asyncio.get_running_loop().create_future()
            self._tasks[c.name] = asyncio.create_task(self._keep(c, ready), name=c.name)
            await ready

    async def stop(self, only: list[Component] | None = None) -> None:
        """Stop every component (or those in `only`), last started first."""
        for c in reversed(self.components):
            if only is not None and c not in only:
                continue
            task = self._tasks.pop(c.name, None)
            if task is None:
                continue
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self._set(c, "stopped")

    def health(self) -> dict[str, tuple[ComponentState, Health]]:
        out = {}
        for c in self.components:
            try:
                h = c.health()
            except Exception as exc:  # a broken health check is itself a finding, not a crash
                h = Health(False, f"health check failed: {exc!r}")
            out[c.name] = (self.states[c.name], h)
        return out

    def degraded(self) -> list[str]:
        """Sentences naming each component that is not doing its job now."""
        lines = []
        for name, (state, h) in self.health().items():
            if state.phase in ("restarting", "failed"):
                lines.append(f"{name} is {state.phase}: {state.last_error}")
            elif state.phase == "up" and not h.up:
                lines.append(f"{name}: {h.detail or 'down'}")
        return lines

    def changed(self) -> None:
        """A component's health flipped without a phase change: export and tell the stand."""
        self.export_metrics()
        self._on_change()

    def export_metrics(self) -> None:
        for name, (state, h) in self.health().items():
            up = state.phase == "up" and h.up
            metrics.COMPONENT_UP.labels(name).set(1 if up else 0)

    # ---- one component's life ------------------------------------------------------------

    async def _keep(self, c: Component, ready: asyncio.Future[None]) -> None:
        backoff = BACKOFF_START_S
        while True:
            started = time.monotonic()
            self._set(c, "starting")
            try:
                await c.start()
                self._set(c, "up")
                if not ready.done():
                    ready.set_result(None)
                await c.run()
                await c.stop()
                self._set(c, "stopped")
                return
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await asyncio.shield(c.stop())
                raise
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                with contextlib.suppress(Exception):
                    await c.stop()
                state = self.states[c.name]
                state.last_error = error[:500]
                if c.critical:
                    log.error("critical component failed: stopping", component=c.name, error=error)
                    self._set(c, "failed")
                    self.fatal = exc
                    self.fatal_event.set()
                    if not ready.done():
                        ready.set_result(None)
                    return
                state.restarts += 1
                metrics.COMPONENT_RESTARTS.labels(c.name).inc()
                log.error(
                    "component failed: restarting",
                    component=c.name,
                    error=error,
                    restarts=state.restarts,
                    exc_info=exc,
                )
                self._set(c, "restarting")
                if not ready.done():
                    ready.set_result(None)  # the daemon goes on; this edge keeps retrying
                if time.monotonic() - started > STABLE_AFTER_S:
                    backoff = BACKOFF_START_S
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    def _set(self, c: Component, phase: Phase) -> None:
        state = self.states[c.name]
        if state.phase != phase:
            state.phase = phase
            state.since = time.monotonic()
            self.export_metrics()
            self._on_change()


class TaskComponent(Component):
    """Wrap a coroutine function as a component, for pieces with nothing to open or close."""

    def __init__(
        self,
        name: str,
        run: Callable[[], Awaitable[None]],
        health: Callable[[], Health] | None = None,
        critical: bool = False,
    ) -> None:
        self.name = name
        self.critical = critical
        self._run = run
        self._health = health

    async def run(self) -> None:
        await self._run()

    def health(self) -> Health:
        return self._health() if self._health is not None else Health()
