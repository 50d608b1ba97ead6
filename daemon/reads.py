"""What the HTTP API, the page and the publisher read: the floor's current views, rendered now.

Reads never wait for the store thread unless they must (covers tonight, a reservation's link):
they render the engine's latest committed copies at the box clock's `now`, so they are as new as
the last commit and never stale in time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from floorlink.daemon.core.servers import covers_tonight, tonight_starts
from floorlink.daemon.floor_admin import LAYOUT_KEYS
from floorlink.daemon.live_views import reservations_at, waitlist_at
from floorlink.daemon.parts import reservations_of
from floorlink.daemon.service import JSON

if TYPE_CHECKING:
    from floorlink.daemon.config import Config
    from floorlink.daemon.engine import Engine


class Reads:
    def __init__(self, engine: Engine, config: Config) -> None:
        self.engine = engine
        self.config = config
        self.tz = ZoneInfo(config.site.timezone)

    def floor(self) -> dict[str, JSON]:
        """table id -> the table as the event log records the floor (a floor change moves it
        at run time: daemon/floor_admin.py), in the floor's order."""
        floor: dict[str, JSON] = self.engine.views.get("floor") or {}
        return floor

    def layout_of(self, tid: str) -> JSON:
        """The floor's part of a table object: seats, section, the plan position and name."""
        t = self.floor().get(tid) or {}
        return {k: t.get(k) for k in LAYOUT_KEYS}

    def tables(self) -> list[JSON]:
        return [
            self.engine.tables[tid] | self.layout_of(tid)
            for tid in self.floor()
            if tid in self.engine.tables
        ]

    def waitlist(self) -> list[JSON]:
        """Rendered now: minutes waited and the recently-seated window follow the clock."""
        return waitlist_at(self.engine.views.get("waitlist"), self.tz, self.engine.clock())

    def reservations(self) -> list[JSON]:
        """Rendered now: the upcoming window rolls forward with the clock, not with events."""
        seen = reservations_at(self.engine.views.get("reservations"), self.tz, self.engine.clock())
        known = self.engine.views.get("guest_summaries") or {}
        return [r | {"guest": known.get(r["id"])} for r in seen]  # the profile's visit summary

    async def servers(self) -> list[JSON]:
        """The servers for the shift: each one's assigned tables and sections, and covers and
        checks tonight from the POS (servers with checks but no assignment too)."""
        since = tonight_starts(self.engine.clock(), self.tz, self.config.reports.cutoff)
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

    async def reservation_change(self, reservation: str) -> JSON:
        """The reservation's link and arrival as they stand (answers relink, unlink, partial)."""
        return await self.engine.call(self._reservation_change, reservation)

    def _reservation_change(self, reservation: str) -> JSON:
        """On the store thread."""
        part = reservations_of(self.engine.state)
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
