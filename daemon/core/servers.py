"""Servers and sections for the shift: which tables each server has, as a pure part of the state.

The host assigns a server to tables or whole sections (`host.assigned`, logged and replayable);
a table has one server at a time, so assigning it moves it. The shell publishes each server's
tables retained on `floorlink/v1/servers/{server}` (a POS can show a server only their tables)
and the host stand shows them with each server's covers so far tonight, read from the floor's
checks (`covers_tonight`), so the counts cannot disagree with the floor.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from floorlink.daemon.core.events import HostAssigned
from floorlink.daemon.core.reasons import Rejected
from floorlink.daemon.core.state import Event, Input

if TYPE_CHECKING:
    from floorlink.daemon.core.floor import Floor
    from floorlink.daemon.core.state import State

NAME = "servers"
#: A server's name is one MQTT topic level: no '/', '+', '#' or control characters.
SERVER_RE = re.compile(r"^[^/+#\x00-\x1f\x7f]{1,40}$")


def _natural(tid: str) -> tuple[int, str]:
    return (int(tid), "") if tid.isdigit() else (1 << 30, tid)


@dataclass
class ServersPart:
    name: str = NAME
    tables: dict[str, list[str]] = field(default_factory=dict)  # server -> its tables
    sections: dict[str, list[str]] = field(default_factory=dict)  # server -> sections named

    def handles(self, itype: str) -> bool:
        return itype == HostAssigned.TYPE

    def decide(
        self, state: State, inp: Input
    ) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
        body = HostAssigned.parse(inp.data)
        server = body.server.strip()
        if not SERVER_RE.match(server):
            raise Rejected(
                "bad_field", "server: 1-40 characters, without '/', '+', '#' or control characters"
            )
        specs = state.floor.specs
        named = body.tables or []
        for tid in named:
            if not isinstance(tid, str) or tid not in specs:
                raise Rejected("unknown_table", f"There is no table {str(tid)[:64]}.")
        known = {spec.section for spec in specs.values()}
        wanted = body.sections or []
        for section in wanted:
            if not isinstance(section, str) or section not in known:
                raise Rejected("unknown_section", f"There is no section {str(section)[:64]}.")
        tables = set(named) | {tid for tid, spec in specs.items() if spec.section in wanted}
        data = {
            "server": server,
            "tables": sorted(tables, key=_natural),
            "sections": sorted(set(wanted)),
        }
        return [(HostAssigned.TYPE, data)], {"server": server, "tables": data["tables"]}

    def apply(self, event: Event) -> None:
        if event.type != HostAssigned.TYPE:
            return
        d = event.data
        server, tables = str(d["server"]), list(d.get("tables") or [])
        for other in list(self.tables):  # one server per table: assigning moves it
            if other != server:
                self.tables[other] = [t for t in self.tables[other] if t not in tables]
                if not self.tables[other]:
                    del self.tables[other]
                    self.sections.pop(other, None)
        if tables:
            self.tables[server] = tables
            self.sections[server] = list(d.get("sections") or [])
        else:
            self.tables.pop(server, None)
            self.sections.pop(server, None)

    def react(
        self, state: State, event: Event, changed: list[str]
    ) -> tuple[list[Input], list[tuple[str, str, str, dict[str, Any]]]]:
        return [], []

    def to_json(self) -> dict[str, Any]:
        return {
            "tables": dict(sorted(self.tables.items())),
            "sections": dict(sorted(self.sections.items())),
        }

    def load_json(self, raw: Mapping[str, Any]) -> None:
        self.tables = {k: list(v) for k, v in raw.get("tables", {}).items()}
        self.sections = {k: list(v) for k, v in raw.get("sections", {}).items()}


def assignments(part: ServersPart) -> dict[str, dict[str, Any]]:
    """server -> the retained MQTT payload (a copy: the live view)."""
    return {
        server: {
            "server": server,
            "tables": list(tables),
            "sections": list(part.sections.get(server, [])),
        }
        for server, tables in sorted(part.tables.items())
    }


def tonight_starts(now: int, tz: ZoneInfo, day_starts: time) -> int:
    """Epoch ms when tonight's service began: the last `day_starts` (the reports' service-day
    cutoff, `reports.day_starts`), local time, so a shift past midnight is still tonight."""
    local = datetime.fromtimestamp(now / 1000, tz)
    start = local.replace(hour=day_starts.hour, minute=day_starts.minute, second=0, microsecond=0)
    if start > local:
        start -= timedelta(days=1)
    return int(start.timestamp() * 1000)


def covers_tonight(floor: Floor, since: int) -> dict[str, dict[str, int]]:
    """POS server -> covers and checks opened since `since` (voided checks left out)."""
    out: dict[str, dict[str, int]] = {}
    for facts in floor.checks.values():
        if facts.opened is None or facts.opened[0] < since or facts.voided_at is not None:
            continue
        server = facts.server or "(no server)"
        row = out.setdefault(server, {"covers": 0, "checks": 0, "open": 0})
        row["covers"] += facts.party_size or 0
        row["checks"] += 1
        row["open"] += 1 if facts.closed_at is None else 0
    return out
