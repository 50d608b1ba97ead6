"""Every HTTP route, declared once: method, path, who may call it, body and answer models.

daemon/http.py serves this table (auth and body parsing are applied from it, so a handler
cannot forget them) and daemon/openapi.py generates the OpenAPI document from it. Handlers are
named by attribute, so this module imports neither of them: no import circle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from floorlink.daemon import api_models as m

Auth = Literal["public", "read", "stream", "write", "pin", "admin"]
Param = Literal["table", "entry", "device", "reservation", "terminal", "report", "merge"]

#: path parameter -> (pattern, description); a request whose id does not fit is a plain 404.
PARAMS: dict[Param, tuple[str, str]] = {
    "table": (m.TABLE_ID_PATTERN, "A table id from the config"),
    "entry": (m.ENTRY_ID_PATTERN, "A waitlist entry id, as the waitlist lists it"),
    "device": (m.DEVICE_ID_PATTERN, "A paired device's id, as GET /api/v1/devices lists it"),
    "reservation": (m.RESERVATION_ID_PATTERN, "A reservation id, as the reservations list it"),
    "terminal": (m.TERMINAL_PATTERN, "A POS terminal's name, as GET /api/v1/terminals lists it"),
    "report": (
        m.REPORT_PATTERN,
        "A report's name, as `floorlink report` takes it (docs/reports.md)",
    ),
    "merge": (m.MERGE_PATTERN, "A merge's id, as GET /api/v1/guests/merges lists it"),
}
#: The longest query parameter value taken.
QUERY_MAX = 254
#: query parameter -> (pattern or None, description)
QUERY: dict[str, tuple[str | None, str]] = {
    "day": (m.DAY_PATTERN, "a service day, YYYY-MM-DD or today (default: the one that ended)"),
    "since": (m.DAY_PATTERN.replace("|today", ""), "the first service day, YYYY-MM-DD"),
    "until": (m.DAY_PATTERN.replace("|today", ""), "the last service day, YYYY-MM-DD"),
    "phone": (None, "the guest's phone, in any spelling"),
    "email": (None, "the guest's email"),
}
WRITE_ERRORS = (400, 401, 404, 408, 409, 413, 422, 500, 501, 503)
PIN_ERRORS = (400, 401, 404, 408, 413, 422, 429)

#: The HTTP status of each refusal reason (core/reasons.py): the core carries no HTTP status.
REASON_STATUS: dict[str, int] = {
    "unknown_table": 404,
    "unknown_section": 404,
    "unknown_entry": 404,
    "unknown_reservation": 404,
    "unknown_check": 404,
    "not_linked": 404,
    "unknown_merge": 404,
    "duplicate_merge": 409,
    "unknown_type": 422,
    "missing_field": 422,
    "bad_field": 422,
    "invalid_input": 422,
    "wrong_status": 409,
    "party_too_large": 409,
    "table_in_use": 409,
    "nothing_due": 409,
    "not_stored": 500,
    "store_full": 503,
}


def status_for(reason: str | None) -> int:
    """The HTTP status a refusal with this reason is answered with."""
    return REASON_STATUS.get(reason or "", 409)


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str  # as documented: `{id}` for the one path parameter
    handler: str  # the name of the Api method that answers it
    summary: str
    auth: Auth
    body: type[m.Body] | None = None
    body_required: bool = True
    answer: type[BaseModel] | None = None  # None: not JSON (page, metrics, stream)
    many: bool = False  # the answer is a list of `answer`
    ok: int = 200
    errors: tuple[int, ...] = ()
    param: Param | None = None
    documented: bool = True
    media: str | None = None  # the answer's media type when it is a file (answer None)
    query: tuple[str, ...] = ()  # optional query parameters (QUERY)


def _read(path: str, handler: str, summary: str, answer: type[BaseModel], many: bool) -> Route:
    return Route("GET", path, handler, summary, "read", answer=answer, many=many, errors=(401,))


def _write(
    path: str,
    handler: str,
    summary: str,
    answer: type[BaseModel],
    param: Param | None,
    body: type[m.Body] | None = None,
    body_required: bool = True,
    ok: int = 200,
) -> Route:
    return Route(
        "POST", path, handler, summary, "write", body, body_required, answer,
        ok=ok, errors=WRITE_ERRORS, param=param,
    )  # fmt: skip


ROUTES: tuple[Route, ...] = (
    Route("GET", "/", "page_html", "The host-stand page", "public", documented=False),
    Route("GET", "/api/v1/openapi.json", "openapi", "This document", "public", documented=False),
    Route("GET", "/api/v1/stream", "stream", "Server-Sent Events", "stream", documented=False),
    Route(
        "GET",
        "/healthz",
        "healthz",
        "Ready: the store is open and the broker connected",
        "public",
        answer=m.Health,
        errors=(503,),
    ),
    Route("GET", "/metrics", "metrics", "Prometheus text format: floorlink_* series", "public"),
    _read("/api/v1/tables", "tables", "Every table, as published on MQTT", m.Table, True),
    _write(
        "/api/v1/tables/{id}/seat",
        "seat",
        "Seat a party at a table; answers the table",
        m.Table,
        "table",
        m.SeatBody,
    ),
    _write(
        "/api/v1/tables/{id}/clear",
        "clear",
        "Clear a bussing (or host-seated) table; answers the table",
        m.Table,
        "table",
    ),
    _write(
        "/api/v1/tables/{id}/block",
        "block",
        "Take a table out of service; answers the table",
        m.Table,
        "table",
        m.BlockBody,
        body_required=False,
    ),
    _write(
        "/api/v1/tables/{id}/unblock",
        "unblock",
        "Put a table back in service; answers the table",
        m.Table,
        "table",
    ),
    _read(
        "/api/v1/waitlist",
        "waitlist",
        "The waitlist: waiting and paged, then recently seated or left",
        m.WaitlistEntry,
        True,
    ),
    _write(
        "/api/v1/waitlist",
        "add_waiting",
        "Add a party to the waitlist; answers the entry with its quote",
        m.WaitlistEntry,
        None,
        m.WaitlistBody,
        ok=201,
    ),
    _write(
        "/api/v1/waitlist/{id}/page",
        "page",
        "Page a waiting party now; answers the entry",
        m.WaitlistEntry,
        "entry",
    ),
    _write(
        "/api/v1/waitlist/{id}/seat",
        "seat_entry",
        "Seat a waiting party at a table; answers the entry",
        m.WaitlistEntry,
        "entry",
        m.SeatEntryBody,
    ),
    _write(
        "/api/v1/waitlist/{id}/left",
        "left",
        "Mark a waiting party as gone; answers the entry",
        m.WaitlistEntry,
        "entry",
    ),
    _read(
        "/api/v1/reservations",
        "reservations",
        "Upcoming reservations, with held tables",
        m.Reservation,
        True,
    ),
    _write(
        "/api/v1/reservations/{id}/link",
        "link_reservation",
        "Relink a reservation to a POS check (by the host: certain), or unlink it (check null)",
        m.ReservationChange,
        "reservation",
        m.LinkBody,
    ),
    _write(
        "/api/v1/reservations/{id}/partial",
        "partial_arrival",
        '"2 of 4 here": hold a table for the reservation without starting the turn',
        m.ReservationChange,
        "reservation",
        m.PartialBody,
    ),
    _write(
        "/api/v1/pager/test",
        "test_page",
        "Send a test page to any pager number through the pager outbox; answers where it got",
        m.PagerTest,
        None,
        m.PagerTestBody,
        ok=202,
    ),
    _read(
        "/api/v1/pager", "pager", "The pager transmitter and its last test pages", m.Pager, False
    ),
    _read(
        "/api/v1/receipts",
        "receipts",
        "The last documents each receipt printer input saw, and what they became",
        m.ReceiptPrinter,
        True,
    ),
    _read(
        "/api/v1/servers",
        "servers",
        "The servers for the shift: tables and sections assigned, covers tonight",
        m.Server,
        True,
    ),
    _write(
        "/api/v1/servers",
        "assign_server",
        "Assign a server to tables and sections for the shift (empty lists end it)",
        m.Assigned,
        None,
        m.AssignBody,
    ),
    _read(
        "/api/v1/terminals",
        "terminals",
        "The POS terminals: registered with the broker, last event and errors",
        m.Terminal,
        True,
    ),
    _write(
        "/api/v1/terminals",
        "add_terminal",
        "Add a POS terminal (as `floorlink add-terminal`): its broker password, shown once",
        m.NewTerminal,
        None,
        m.TerminalBody,
        ok=201,
    ),
    Route(
        "DELETE",
        "/api/v1/terminals/{id}",
        "remove_terminal",
        "Remove a POS terminal's broker password",
        "write",
        answer=m.RemovedTerminal,
        errors=(401, 404, 409, 503),
        param="terminal",
    ),
    _read(
        "/api/v1/floor",
        "floor",
        "The floor the daemon runs with (the editor reads it)",
        m.Floor,
        False,
    ),
    Route(
        "PUT",
        "/api/v1/floor",
        "put_floor",
        "Apply a floor: validated, written to the config file (backed up first), then reloaded",
        "write",
        m.FloorBody,
        answer=m.FloorApplied,
        errors=WRITE_ERRORS,
    ),
    _write(
        "/api/v1/floor/validate",
        "validate_floor",
        "What applying this floor would do, or every reason it cannot (nothing is changed)",
        m.FloorCheck,
        None,
        m.FloorBody,
    ),
    _read("/api/v1/status", "status", "Connections and health, for the banners", m.Status, False),
    Route(
        "GET",
        "/api/v1/reports/{id}",
        "report",
        "A report over service days as JSON, for the page's charts (docs/reports.md)",
        "read",
        answer=m.Report,
        errors=(401, 404, 422),
        param="report",
        query=("day", "since", "until"),
    ),
    Route(
        "GET",
        "/api/v1/guests",
        "guest",
        "The guest with this phone or email, with their visit summary (the lookup on seating):"
        " a list of one, or empty",
        "read",
        answer=m.GuestProfile,
        many=True,
        errors=(401, 422),
        query=("phone", "email"),
    ),
    _read(
        "/api/v1/guests/merges",
        "guest_merges",
        "Every merge of duplicate guests",
        m.GuestMerges,
        False,
    ),
    _write(
        "/api/v1/guests/merge",
        "merge_guests",
        "Merge two duplicate guest profiles, their history kept; answers the merge",
        m.GuestMerge,
        None,
        m.MergeBody,
    ),
    _write(
        "/api/v1/guests/merges/{id}/undo",
        "unmerge_guests",
        "Undo a merge: the profiles split back as the matching alone makes them",
        m.GuestMerge,
        "merge",
    ),
    Route(
        "POST",
        "/api/v1/guests/erase",
        "erase_guest",
        "Erase a guest's personal data everywhere while the daemon runs (staff token only)",
        "admin",
        m.EraseBody,
        answer=m.GuestErased,
        errors=(400, 401, 404, 408, 413, 422, 503),
    ),
    Route(
        "POST",
        "/api/v1/guests/purge",
        "purge_guests",
        "Erase the guests not seen for privacy.retention_days, while the daemon runs",
        "admin",
        answer=m.GuestsPurged,
        errors=(401,),
    ),
    Route(
        "POST",
        "/api/v1/backup",
        "backup",
        "An online backup of the store (as `floorlink backup`), answered as a file to download",
        "write",
        errors=(401, 503),
        media="application/vnd.sqlite3",
    ),
    Route(
        "POST",
        "/api/v1/session",
        "session",
        "Trade the staff PIN for the staff token (wrong PINs limited per address)",
        "pin",
        m.PinBody,
        answer=m.Token,
        errors=PIN_ERRORS,
    ),
    Route(
        "POST",
        "/api/v1/devices",
        "pair",
        "Pair this device with the staff PIN: answers its own long-lived credential",
        "pin",
        m.PairBody,
        answer=m.Paired,
        ok=201,
        errors=(*PIN_ERRORS, 409),
    ),
    Route(
        "GET",
        "/api/v1/devices",
        "devices",
        "The paired devices (staff token only)",
        "admin",
        answer=m.Device,
        many=True,
        errors=(401,),
    ),
    Route(
        "DELETE",
        "/api/v1/devices/{id}",
        "unpair",
        "Revoke a paired device (staff token only); answers the device",
        "admin",
        answer=m.Device,
        errors=(401, 404),
        param="device",
    ),
)
