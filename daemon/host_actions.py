"""The host stand's actions turned into inputs, decided and committed like every other input.

A host action is an `Input` from source `host`, named by its class in the event registry
(daemon/core/events.py); the core decides it and a refusal comes back with its reason, which
`routes.status_for` turns into the HTTP status the page shows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog

from floorlink.daemon.core import events as ev
from floorlink.daemon.core.servers import SERVER_RE
from floorlink.daemon.core.state import Input, Outcome
from floorlink.daemon.parts import reservations_of
from floorlink.daemon.routes import status_for
from floorlink.daemon.service import (
    JSON,
    AddToWaitlist,
    BlockTable,
    ClearTable,
    CommandResult,
    HostCommand,
    MarkLeft,
    PageParty,
    SeatFromWaitlist,
    SeatParty,
    UnblockTable,
)

if TYPE_CHECKING:
    from floorlink.bridge.service import CloudBridge
    from floorlink.daemon.engine import Engine
    from floorlink.paging.sender import PagerSender

log = structlog.get_logger(__name__)


class HostActions:
    def __init__(
        self,
        engine: Engine,
        waitlist: Callable[[], list[JSON]],
        bridge: CloudBridge | None,
        sender: PagerSender | None,
    ) -> None:
        self.engine = engine
        self.waitlist = waitlist
        self.bridge = bridge
        self.sender = sender

    async def command(self, cmd: HostCommand) -> CommandResult:
        if isinstance(cmd, SeatParty) and cmd.reservation and cmd.waitlist is None:
            await self._ensure_reservation(cmd.reservation)
        inp = self.host_input(cmd)
        if inp is None:
            return CommandResult(False, status=501, error="Not available yet.")
        try:
            res = await self.engine.submit(inp)
        except Exception as exc:
            return CommandResult(False, status=503, error=f"Floorlink cannot save right now: {exc}")
        result = command_result(res.outcome, res.tables)
        entry = res.outcome.body.get("entry")
        if result.ok and entry:
            found = next((e for e in self.waitlist() if e["id"] == entry), None)
            return CommandResult(True, body=found or {"id": entry})
        return result

    async def submit(self, itype: str, data: dict[str, Any]) -> CommandResult:
        """A host action that is not a HostCommand (yet): decided and committed the same way."""
        try:
            res = await self.engine.submit(
                Input("host", uuid.uuid4().hex, itype, self.engine.clock(), data)
            )
        except Exception as exc:
            return CommandResult(False, status=503, error=f"Floorlink cannot save right now: {exc}")
        return command_result(res.outcome, res.tables)

    async def link_reservation(self, reservation: str, check: str | None) -> CommandResult:
        """Relink (check given) or unlink (None) a reservation and a POS check, from the stand.
        A host link is certain (confidence 1) and auto-linking never overrides it."""
        if check is None:
            return await self.submit(ev.ReservationUnlink.TYPE, {"reservation": reservation})
        data = {"reservation": reservation, "check": check, "by": "host"}
        return await self.submit(ev.ReservationLink.TYPE, data)

    async def partial_arrival(self, reservation: str, table: str, arrived: int) -> CommandResult:
        """ "2 of 4 here": hold `table` for the reservation without starting the turn (the whole
        party arrived: seated as usual)."""
        await self._ensure_reservation(reservation)
        data = {"reservation": reservation, "table": table, "arrived": arrived}
        return await self.submit(ev.ReservationPartial.TYPE, data)

    async def test_page(self, pager: int) -> CommandResult:
        """A test page to any pager number: committed as `pager.tested`, sent by the pager
        outbox and sender like every page, so a test proves the whole path."""
        if self.sender is None:
            return CommandResult(
                False, status=409, error="No pager transmitter is set up on this box ([pager])."
            )
        result = await self.submit(ev.PagerTest.TYPE, {"pager": pager})
        if not result.ok:
            return result
        test = str(result.body.get("test"))
        queued: JSON = {"test": test, "pager": pager, "delivery": "queued", "detail": None}
        return CommandResult(True, body=self.sender.tests.get(test) or queued)

    async def assign_server(
        self, server: str, tables: list[str], sections: list[str]
    ) -> CommandResult:
        """The host assigns a server to tables and sections (empty lists: the shift ended)."""
        if not SERVER_RE.match(server.strip()):
            return CommandResult(
                False, status=422, error="server: 1-40 characters, without / + # or control ones"
            )
        data = {"server": server, "tables": tables, "sections": sections}
        return await self.submit(ev.HostAssigned.TYPE, data)

    async def _known_reservation(self, rid: str) -> bool:
        engine = self.engine
        return await engine.call(lambda: rid in reservations_of(engine.state).reservations)

    async def _ensure_reservation(self, rid: str) -> None:
        """A reservation made a moment ago may not have been pulled yet: pull at once and wait
        (bounded) rather than answer "There is no reservation"."""
        if self.bridge is None or await self._known_reservation(rid):
            return
        log.info("host named an unknown reservation: pulling now", reservation=rid)
        await self.bridge.pull_now()

    def host_input(self, cmd: HostCommand) -> Input | None:
        """The input a host command is: its registry type and body."""
        at = self.engine.clock()  # the one clock of the box (tests set it)
        eid = uuid.uuid4().hex
        mk: Callable[[str, dict[str, Any]], Input] = lambda t, d: Input("host", eid, t, at, d)  # noqa: E731
        match cmd:
            case SeatParty(table, _, _, str(entry), _):
                return mk(ev.WaitlistSeat.TYPE, {"entry": entry, "table": table})
            case SeatParty(table, _, str(reservation), None, _) if self.bridge is not None:
                return mk(ev.ReservationArrive.TYPE, {"reservation": reservation, "table": table})
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
                return mk(ev.HostSeated.TYPE, data)
            case ClearTable(table):
                return mk(ev.HostCleared.TYPE, {"table": table})
            case BlockTable(table, reason):
                return mk(ev.HostBlocked.TYPE, {"table": table, "reason": reason})
            case UnblockTable(table):
                return mk(ev.HostUnblocked.TYPE, {"table": table})
            case AddToWaitlist(name, size, pager, phone, notes):
                body = {"name": name, "party_size": size, "pager": pager, "phone": phone}
                return mk(ev.WaitlistAdd.TYPE, body | {"notes": notes})
            case PageParty(entry):
                return mk(ev.WaitlistPage.TYPE, {"entry": entry, "reason": "host"})
            case SeatFromWaitlist(entry, table):
                return mk(ev.WaitlistSeat.TYPE, {"entry": entry, "table": table})
            case MarkLeft(entry):
                return mk(ev.WaitlistLeft.TYPE, {"entry": entry})


def command_result(outcome: Outcome, tables: dict[str, JSON]) -> CommandResult:
    """What the HTTP layer answers for a decided host input."""
    if outcome.result == "rejected":
        return CommandResult(False, status=status_for(outcome.reason), error=outcome.error)
    body: JSON = dict(outcome.body)
    if tables and not body:
        body = next(iter(tables.values()))
    return CommandResult(True, body=body)
