"""A small in-memory FloorService: the HTTP layer's tests need a floor, not the whole daemon.

It keeps the same shapes as daemon/app.py (contract section 4 table objects, waitlist entries,
reservations, status) and the same `live()` mechanics (one queue per subscriber, registered when
the generator starts), so what passes here passes against the real daemon.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

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

FREE = ("available", "reserved")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def missing(what: str) -> CommandResult:
    return CommandResult(False, status=404, error=f"There is no {what}.")


def refused(why: str) -> CommandResult:
    return CommandResult(False, status=409, error=why)


class FakeFloor:
    """Tables `1`..`n` (or the given specs), an empty waitlist, and a healthy status."""

    def __init__(self, specs: list[JSON] | None = None) -> None:
        specs = specs or [
            {"table": str(n), "seats": 2 if n % 3 == 0 else 4, "section": "main"}
            for n in range(1, 7)
        ]
        self.seq = 0
        self._tables: dict[str, JSON] = {}
        for spec in specs:
            self._tables[spec["table"]] = {
                "status": "available",
                "course": None,
                "since": now(),
                "party": None,
                "check": None,
                "server": None,
                "seq": 0,
                **spec,
            }
        self._waitlist: list[JSON] = []
        self._reservations: list[JSON] = []
        self._status: JSON = {
            "store": True,
            "broker": True,
            "cloud": "disabled",
            "pager": "disabled",
            "ready": True,
            "site": "test-site",
            "site_name": "Test Site",
            "version": "0.1.0",
            "reasons": [],
        }
        self._live: list[asyncio.Queue[tuple[LiveKind, Any]]] = []
        self.commands: list[HostCommand] = []
        self.fail_next: Exception | None = None

    # ---- FloorService ----------------------------------------------------------------------

    def tables(self) -> list[JSON]:
        return [dict(t) for t in self._tables.values()]

    def waitlist(self) -> list[JSON]:
        return [dict(e) for e in self._waitlist]

    def reservations(self) -> list[JSON]:
        return [dict(r) for r in self._reservations]

    def status(self) -> JSON:
        return dict(self._status)

    async def live(self) -> AsyncIterator[tuple[LiveKind, Any]]:
        queue: asyncio.Queue[tuple[LiveKind, Any]] = asyncio.Queue()
        self._live.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._live.remove(queue)

    async def command(self, cmd: HostCommand) -> CommandResult:
        self.commands.append(cmd)
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        match cmd:
            case SeatParty():
                return self._seat(cmd)
            case ClearTable(table=tid):
                t = self._tables.get(tid)
                if t is None:
                    return missing(f"table {tid}")
                if t["status"] not in ("bussing", "seated"):
                    return refused(f"Table {tid} is {t['status']}: nothing to clear.")
                return self._set(tid, status="available", party=None, course=None)
            case BlockTable(table=tid, reason=reason):
                t = self._tables.get(tid)
                if t is None:
                    return missing(f"table {tid}")
                if t["status"] not in ("available", "reserved", "bussing"):
                    return refused(f"Table {tid} is {t['status']}: it cannot be blocked now.")
                return self._set(tid, status="blocked", party=None, blocked_reason=reason)
            case UnblockTable(table=tid):
                t = self._tables.get(tid)
                if t is None:
                    return missing(f"table {tid}")
                if t["status"] != "blocked":
                    return refused(f"Table {tid} is not blocked.")
                return self._set(tid, status="available", blocked_reason=None)
            case AddToWaitlist():
                entry: JSON = {
                    "id": f"w-{len(self._waitlist) + 1}",
                    "name": cmd.name,
                    "party_size": cmd.party_size,
                    "pager": cmd.pager,
                    "phone": cmd.phone,
                    "notes": cmd.notes,
                    "quoted_minutes": 5 * cmd.party_size,
                    "status": "waiting",
                    "added_at": now(),
                    "paged_at": None,
                    "pages": 0,
                    "table": None,
                }
                self._waitlist.append(entry)
                self._changed("waitlist", self.waitlist())
                return CommandResult(True, dict(entry))
            case PageParty(entry=eid):
                e = self._entry(eid)
                if e is None:
                    return missing(f"waitlist entry {eid}")
                if e["status"] not in ("waiting", "paged"):
                    return refused(f"{e['name']} is {e['status']}: no page sent.")
                e.update(status="paged", paged_at=now(), pages=e["pages"] + 1)
                self._changed("waitlist", self.waitlist())
                return CommandResult(True, dict(e))
            case SeatFromWaitlist(entry=eid, table=tid):
                e = self._entry(eid)
                if e is None:
                    return missing(f"waitlist entry {eid}")
                if e["status"] not in ("waiting", "paged"):
                    return refused(f"{e['name']} is {e['status']}.")
                seated = self._seat(SeatParty(tid, e["party_size"], waitlist=eid, name=e["name"]))
                if not seated.ok:
                    return seated
                e.update(status="seated", table=tid)
                self._changed("waitlist", self.waitlist())
                return CommandResult(True, dict(e))
            case MarkLeft(entry=eid):
                e = self._entry(eid)
                if e is None:
                    return missing(f"waitlist entry {eid}")
                if e["status"] not in ("waiting", "paged"):
                    return refused(f"{e['name']} is {e['status']}.")
                e.update(status="left")
                self._changed("waitlist", self.waitlist())
                return CommandResult(True, dict(e))
        raise AssertionError(f"unknown command {cmd!r}")

    # ---- what tests drive ------------------------------------------------------------------

    def set_table(self, tid: str, **fields: Any) -> JSON:
        """A change from elsewhere (a POS event): publish it as the daemon would."""
        result = self._set(tid, **fields)
        return result.body

    def set_status(self, **fields: Any) -> None:
        self._status.update(fields)
        self._changed("status", self.status())

    def add_entry(self, **fields: Any) -> JSON:
        """A waitlist entry as it would be after some time on the list."""
        entry: JSON = {
            "id": f"w-{len(self._waitlist) + 1}",
            "pager": None,
            "phone": None,
            "notes": None,
            "quoted_minutes": 10,
            "status": "waiting",
            "added_at": now(),
            "paged_at": None,
            "pages": 0,
            "table": None,
            **fields,
        }
        self._waitlist.append(entry)
        self._changed("waitlist", self.waitlist())
        return entry

    def add_reservation(self, reservation: JSON) -> None:
        self._reservations.append(reservation)
        self._changed("reservations", self.reservations())

    @property
    def subscribers(self) -> int:
        return len(self._live)

    # ---- inside ----------------------------------------------------------------------------

    def _seat(self, cmd: SeatParty) -> CommandResult:
        t = self._tables.get(cmd.table)
        if t is None:
            return missing(f"table {cmd.table}")
        if t["status"] not in FREE:
            return refused(f"Table {cmd.table} is {t['status']}: it cannot be seated now.")
        if cmd.party_size > 4 * t["seats"]:
            why = f"A party of {cmd.party_size} does not fit table {cmd.table}."
            return refused(why)
        party = {
            "size": cmd.party_size,
            "name": cmd.name,
            "source": "waitlist" if cmd.waitlist else "reservation" if cmd.reservation else "host",
            "reservation": cmd.reservation,
            "vip": False,
        }
        return self._set(cmd.table, status="seated", party=party)

    def _set(self, tid: str, **fields: Any) -> CommandResult:
        t = self._tables.get(tid)
        if t is None:
            return missing(f"table {tid}")
        self.seq += 1
        t.update({"since": now()} | fields, seq=self.seq)
        self._changed("table", dict(t))
        return CommandResult(True, dict(t))

    def _entry(self, eid: str) -> JSON | None:
        return next((e for e in self._waitlist if e["id"] == eid), None)

    def _changed(self, kind: LiveKind, payload: Any) -> None:
        for queue in self._live:
            queue.put_nowait((kind, payload))
