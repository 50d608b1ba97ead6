"""What the local HTTP API and the host-stand page see of the daemon.

The HTTP layer (daemon/http.py) is written against this protocol only; daemon/app.py provides the
implementation. Reads return plain JSON-ready dicts shaped as the contract says; writes go through
`command` and come back as a `CommandResult` the HTTP layer turns into a status code and JSON body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SeatParty:
    table: str
    party_size: int
    reservation: str | None = None
    waitlist: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ClearTable:
    table: str


@dataclass(frozen=True, slots=True)
class BlockTable:
    table: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class UnblockTable:
    table: str


@dataclass(frozen=True, slots=True)
class AddToWaitlist:
    name: str
    party_size: int
    pager: int | None = None
    phone: str | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class PageParty:
    entry: str


@dataclass(frozen=True, slots=True)
class SeatFromWaitlist:
    entry: str
    table: str


@dataclass(frozen=True, slots=True)
class MarkLeft:
    entry: str


HostCommand = (
    SeatParty
    | ClearTable
    | BlockTable
    | UnblockTable
    | AddToWaitlist
    | PageParty
    | SeatFromWaitlist
    | MarkLeft
)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """ok: the command was committed. Otherwise `status` is the HTTP status (404 unknown table or
    entry, 409 not possible in the current state, 422 invalid) and `error` a sentence a host
    can read."""

    ok: bool
    body: JSON = field(default_factory=dict)
    status: int = 200
    error: str | None = None


LiveKind = Literal["table", "waitlist", "reservations", "status", "servers", "floor"]


class FloorService(Protocol):
    def tables(self) -> list[JSON]:
        """Every configured table: the table object of contract section 4, plus `seats`,
        `section`, and the optional floor-plan `x`, `y`, `shape` from the config."""
        ...

    def waitlist(self) -> list[JSON]:
        """Active and recent entries: id, name, party_size, pager, phone, quoted_minutes, status
        (waiting / paged / seated / left), added_at, paged_at, pages, table."""
        ...

    def reservations(self) -> list[JSON]:
        """Upcoming reservations: id, time, party_size, name, vip, table, status, held."""
        ...

    def status(self) -> JSON:
        """Health for the banner and /healthz: {"store": bool, "broker": bool,
        "cloud": "ok" | "down" | "disabled", "pager": "ok" | "down" | "disabled", "ready": bool,
        "site": str, "site_name": str, "version": str, "reasons": [str]}."""
        ...

    async def command(self, cmd: HostCommand) -> CommandResult: ...

    async def test_page(self, pager: int) -> CommandResult:
        """A test page to `pager` through the pager outbox; body: {test, pager, delivery}."""
        ...

    def pager_state(self) -> JSON:
        """The transmitter: {state: ok|down|disabled, detail, protocol, port, tests: [...]}."""
        ...

    def recent_documents(self, n: int = 10) -> dict[str, list[JSON]]:
        """Receipt input name -> its last documents, newest first, and what they became."""
        ...

    async def link_reservation(self, reservation: str, check: str | None) -> CommandResult:
        """Relink (a check) or unlink (None) a reservation, by the host."""
        ...

    async def partial_arrival(self, reservation: str, table: str, arrived: int) -> CommandResult:
        """ "2 of 4 here": hold `table` without starting the turn."""
        ...

    def floor(self) -> JSON:
        """The floor as the log records it: {tables: [...], editable, path}."""
        ...

    async def validate_floor(self, tables: list[JSON]) -> CommandResult:
        """What applying this floor would do (body: ok, errors, added, removed, changed)."""
        ...

    async def apply_floor(self, tables: list[JSON]) -> CommandResult:
        """Write the floor to the config file (backed up first), then reload it."""
        ...

    async def servers(self) -> list[JSON]:
        """The servers: assigned tables and sections, covers and checks tonight."""
        ...

    async def assign_server(
        self, server: str, tables: list[str], sections: list[str]
    ) -> CommandResult:
        """Assign a server to tables and sections (logged as `host.assigned`)."""
        ...

    def terminals(self) -> list[JSON]:
        """The POS terminals with their last event and error count."""
        ...

    async def add_terminal(self, name: str) -> CommandResult:
        """A new broker password for a POS terminal (body: what to type into the POS)."""
        ...

    async def remove_terminal(self, name: str) -> CommandResult:
        """The terminal's broker password removed."""
        ...

    async def reservation_change(self, reservation: str) -> JSON:
        """The reservation's link and partial arrival as they stand now."""
        ...

    async def report(
        self, name: str, day: str | None, since: str | None, until: str | None
    ) -> CommandResult:
        """A report as JSON (daemon/report.py): 404 unknown name, 422 bad dates."""
        ...

    async def guest(self, phone: str | None, email: str | None) -> JSON | None:
        """A guest's profile by phone or email (daemon/profiles.py), None if unknown."""
        ...

    async def guest_merges(self) -> JSON: ...

    async def merge_guests(self, a: str, b: str) -> CommandResult: ...

    async def unmerge_guests(self, merge: str) -> CommandResult: ...

    async def erase_guest(self, phone: str | None, email: str | None) -> CommandResult:
        """Erase a guest everywhere while running (daemon/privacy.py)."""
        ...

    async def purge_guests(self) -> CommandResult:
        """Erase the guests not seen for privacy.retention_days."""
        ...

    def live(self) -> AsyncIterator[tuple[LiveKind, Any]]:
        """Every change after the call, as (kind, payload): ("table", table object),
        ("waitlist", full list), ("reservations", full list), ("status", status dict)."""
        ...
