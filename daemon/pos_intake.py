"""POS events over MQTT: every message read, decided, acknowledged after commit, and answered.

Messages are submitted in arrival order and each is PUBACKed only once its input is stored, so
the broker keeps anything the daemon did not save. A payload that cannot be taken becomes a
stored rejection with its reason (and an ack the terminal sees), never a crash. Input sources
(daemon/sources.py) share the same counting through `submit_counted`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog

from floorlink.daemon import metrics, topics
from floorlink.daemon.core.state import Input
from floorlink.daemon.engine import Committed, RejectInput
from floorlink.daemon.logs import Throttle
from floorlink.daemon.terminal_activity import TerminalActivity
from floorlink.drivers.pos import TERMINAL_RE, PosRejected, parse_pos_event

if TYPE_CHECKING:
    from floorlink.daemon.engine import Engine
    from floorlink.drivers.mqtt import BrokerLink, Received

log = structlog.get_logger(__name__)
_throttle = Throttle()


def warn(event: str, **fields: Any) -> None:
    """A warning about outside input, rate-limited per reason."""
    _throttle.warning(log, event, **fields)


class PosIntake:
    def __init__(
        self,
        engine: Engine,
        link: Callable[[], BrokerLink],
        activity: TerminalActivity,
        clock: Callable[[], int],
    ) -> None:
        self.engine = engine
        self._link = link  # built after this (it calls on_message): looked up when used
        self.activity = activity
        self.clock = clock

    def on_message(self, msg: Received) -> None:
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

    def submit_counted(self, inp: Input | RejectInput) -> asyncio.Future[Committed]:
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
        link = self._link()
        link.ack(msg)
        inp, outcome = res.input, res.outcome
        metrics.EVENTS.labels(inp.type, outcome.result).inc()
        if res.tables:
            metrics.SYNC_LATENCY.observe(time.perf_counter() - started)
        reply_id = inp.reply_id if isinstance(inp, RejectInput) else inp.eid
        if terminal is not None:
            self.activity.record(terminal, inp.type, outcome.result, outcome.error, self.clock())
        if terminal is not None and reply_id is not None:
            ack: dict[str, Any] = {"id": reply_id, "result": outcome.result}
            if outcome.result == "rejected":
                ack["error"] = outcome.error
            link.publish(topics.pos_acks(terminal), json.dumps(ack).encode())
