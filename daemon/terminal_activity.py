"""What each POS terminal has sent since the daemon started: its last event and its errors, for
the host stand's devices view and /metrics (`floorlink_terminal_*`)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Gauge

TERMINAL_EVENTS = Counter(
    "floorlink_terminal_events_total",
    "Events from each POS terminal, by result",
    ["terminal", "result"],
)
TERMINAL_LAST = Gauge(
    "floorlink_terminal_last_event_timestamp_seconds",
    "When each POS terminal's last event arrived (epoch seconds)",
    ["terminal"],
)
#: Terminals tracked at most (the broker's ACL gives each terminal only its own topic, so the
#: names are the configured terminals; this bounds a misconfigured open broker).
MAX_TERMINALS = 200


@dataclass(slots=True)
class Seen:
    events: int = 0
    errors: int = 0
    last_at: int | None = None
    last_type: str | None = None
    last_error: str | None = None
    last_error_at: int | None = None


class TerminalActivity:
    def __init__(self) -> None:
        self.terminals: dict[str, Seen] = {}

    def record(
        self, terminal: str, itype: str | None, result: str, error: str | None, at: int
    ) -> None:
        """One acknowledged message from `terminal` (accepted, duplicate or rejected)."""
        seen = self.terminals.get(terminal)
        if seen is None:
            if len(self.terminals) >= MAX_TERMINALS:
                return
            seen = self.terminals[terminal] = Seen()
        seen.events += 1
        seen.last_at, seen.last_type = at, itype
        if result == "rejected":
            seen.errors += 1
            seen.last_error, seen.last_error_at = (error or "rejected")[:200], at
        TERMINAL_EVENTS.labels(terminal, result).inc()
        TERMINAL_LAST.labels(terminal).set(at / 1000)

    def forget(self, terminal: str) -> None:
        """A terminal removed from the broker: its figures leave the view and /metrics."""
        self.terminals.pop(terminal, None)
        for result in ("accepted", "duplicate", "rejected"):
            with contextlib.suppress(KeyError):
                TERMINAL_EVENTS.remove(terminal, result)
        with contextlib.suppress(KeyError):
            TERMINAL_LAST.remove(terminal)

    def view(self, known: list[str]) -> list[dict[str, Any]]:
        """Every terminal the broker knows (`known`) or that has sent something, by name."""
        out = []
        for name in sorted(set(known) | set(self.terminals)):
            seen = self.terminals.get(name, Seen())
            out.append(
                {
                    "terminal": name,
                    "registered": name in known,
                    "events": seen.events,
                    "errors": seen.errors,
                    "last_event_at": seen.last_at,
                    "last_type": seen.last_type,
                    "last_error": seen.last_error,
                    "last_error_at": seen.last_error_at,
                }
            )
        return out
