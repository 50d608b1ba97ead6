"""The API's data, declared once: request bodies, answers, and the table object.

The HTTP layer validates requests with these models, the OpenAPI document is generated from them
(daemon/openapi.py), and the tests check that what the daemon publishes on MQTT, answers over
HTTP and pushes to the cloud fits them. The core keeps rendering plain dicts
(daemon/core/view.py), so pydantic stays off its hot path; `TableObject` describes that dict.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

TABLE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,16}$"
ENTRY_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
DEVICE_ID_PATTERN = r"^d-[a-f0-9]{12}$"
RESERVATION_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
TERMINAL_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
REPORT_PATTERN = r"^[a-z-]{1,32}$"
MERGE_PATTERN = r"^m[0-9]{1,9}$"
PROFILE_PATTERN = r"^g[0-9a-f]{12}$"
DAY_PATTERN = r"^([0-9]{4}-[0-9]{2}-[0-9]{2}|today)$"
TableStatus = Literal["available", "reserved", "seated", "check_dropped", "bussing", "blocked"]
Course = Literal["apps", "entrees", "dessert"]


def _integral(value: Any) -> Any:
    """JSON has one number type: 2.0 is the integer 2 (as JSON Schema says), 2.5 is not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Count = Annotated[int, BeforeValidator(_integral)]
TableId = Annotated[str, Field(pattern=TABLE_ID_PATTERN)]
# Not only blanks: Python counts \x1c-\x1f as blanks (str.strip), the schema regex does not.
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"[^\s\x1c-\x1f]")]
Text = Annotated[str | None, Field(description="RFC 3339 with the site's offset")]


# ---- request bodies ------------------------------------------------------------------------


class Body(BaseModel):
    """A request body: strict types, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class SeatBody(Body):
    party_size: Count = Field(ge=1, le=100)
    reservation: str | None = Field(None, min_length=1, max_length=64)
    waitlist: str | None = Field(None, min_length=1, max_length=64)
    name: Name | None = None


class BlockBody(Body):
    reason: str | None = Field(None, max_length=200)


class WaitlistBody(Body):
    name: Name
    party_size: Count = Field(ge=1, le=100)
    pager: Annotated[int, Field(ge=1, le=4095), BeforeValidator(_integral)] | None = None
    phone: str | None = Field(None, max_length=32)
    notes: str | None = Field(None, max_length=500)


class SeatEntryBody(Body):
    table: TableId


class PagerTestBody(Body):
    pager: Annotated[int, Field(ge=1, le=4095), BeforeValidator(_integral)]


class LinkBody(Body):
    check: str | None = Field(
        min_length=1, max_length=64, description="the POS check to link; null unlinks"
    )


class PartialBody(Body):
    table: TableId
    arrived: Count = Field(ge=1, le=100, description="how many of the party are here")


class TerminalBody(Body):
    name: str = Field(pattern=TERMINAL_PATTERN, description="the terminal's name, e.g. bar-1")


class AssignBody(Body):
    server: str = Field(
        min_length=1, max_length=40, pattern=r"^[^/+#\x00-\x1f\x7f]+$",
        description="the server's name, as the POS sends it in check events",
    )  # fmt: skip
    tables: list[TableId] = Field(default_factory=list, max_length=500)
    sections: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50
    )


class PinBody(Body):
    pin: str = Field(min_length=1, max_length=16)


class PairBody(Body):
    pin: str = Field(min_length=1, max_length=16)
    name: str = Field(
        "Host stand", min_length=1, max_length=40, description="what the device is called"
    )


class MergeBody(Body):
    a: str = Field(pattern=PROFILE_PATTERN, description="a guest profile id")
    b: str = Field(pattern=PROFILE_PATTERN, description="its duplicate")


class EraseBody(Body):
    phone: str | None = Field(None, min_length=1, max_length=40)
    email: str | None = Field(None, min_length=3, max_length=254)


# ---- answers -------------------------------------------------------------------------------


class Answer(BaseModel):
    """An answer: extra keys are allowed, so additions never break a reader."""

    model_config = ConfigDict(extra="allow")


class Error(BaseModel):
    model_config = ConfigDict(extra="forbid")
    error: str = Field(description="A sentence a host can read")


class Party(Answer):
    size: int | None
    name: str | None = None
    source: str = Field("walk_in", description="walk_in, reservation, waitlist, ...")
    reservation: str | None = None
    waitlist: str | None = None
    vip: bool = False


class TableObject(Answer):
    """The table object of contract section 4 (MQTT `floorlink/v1/tables/{table}`, the cloud's
    `table.status` data), with Floorlink's additions after `seq`."""

    table: str
    status: TableStatus
    course: Course | None
    since: Text
    party: Party | None
    check: str | None
    server: str | None
    seq: int = Field(ge=0)
    checks: list[str] = Field(default_factory=list)
    guests: int | None = None
    course_since: Text = None
    blocked_reason: str | None = None
    held_for: str | None = None


class Table(TableObject):
    """A table as the HTTP API lists it: the table object and its floor-plan fields."""

    seats: int = Field(1, ge=1)
    section: str = "main"
    x: float | None = None
    y: float | None = None
    shape: str | None = None
    name: str | None = Field(None, description="the table's display name, when it has one")


class WaitlistEntry(Answer):
    id: str
    name: str
    party_size: int = Field(ge=1)
    pager: int | None
    phone: str | None = None
    notes: str | None = None
    quoted_minutes: int | None
    status: Literal["waiting", "paged", "seated", "left"]
    added_at: Text = None
    paged_at: Text = None
    pages: int = Field(0, ge=0)
    table: str | None = None
    waited_minutes: int = Field(0, ge=0)
    estimate_minutes: int | None = Field(
        None, ge=0, description="live estimate of the whole wait, arrival to seated, as of now"
    )
    running_late: bool = Field(
        False, description="the live estimate is past the quote by more than 5 minutes"
    )
    delivery: str | None = Field(
        None, description="where the latest page got: queued, written, acknowledged, ..."
    )
    delivery_detail: str | None = None
    reply: str | None = Field(None, description="the guest's text reply: on_my_way")


class ReservationGuest(Answer):
    """The guest's visit summary from their profile (daemon/profiles.py), current to the last
    closed check."""

    profile: str
    visits: int = Field(ge=0)
    last_visit: str | None
    average_check: str | None = Field(description="decimal string, to the cent")
    favourites: list[str]
    allergies: str | None
    vip: bool


class Reservation(Answer):
    id: str
    time: str = Field(description="RFC 3339, the site's offset")
    party_size: int | None = None
    name: str | None = None
    vip: bool = False
    table: str | None = None
    status: str
    held: bool = Field(description="its table is held for it now")
    arrived: int | None = Field(None, description='"2 of 4 here": how many have arrived')
    check: str | None = Field(None, description="the POS check linked to it")
    link_confidence: float | None = Field(None, description="1 when the host linked it")
    linked_by: str | None = Field(None, description="host or auto")
    guest: ReservationGuest | None = Field(None, description="a returning guest's visit summary")


class ReservationChange(Answer):
    """The answer to a relink, unlink or partial arrival: the reservation as it is now."""

    reservation: str
    check: str | None = None
    arrived: int | None = None
    party_size: int | None = None


class PagerTest(Answer):
    """A test page and where it got (docs/pagers.md's delivery states)."""

    test: str
    pager: int
    delivery: str = Field(description="queued, written, acknowledged, transmitted, failed, ...")
    detail: str | None = None


class Pager(Answer):
    """The pager transmitter: its state, and the last test pages."""

    state: Literal["ok", "down", "disabled"]
    detail: str | None = None
    protocol: str | None = None
    port: str | None = None
    sent: int = 0
    failed: int = 0
    expired: int = 0
    tests: list[PagerTest] = Field(default_factory=list)


class Server(Answer):
    """A server for the shift: assigned tables and sections, and tonight's figures."""

    server: str
    tables: list[str] = Field(description="assigned (whole sections included)")
    sections: list[str]
    covers: int = Field(
        0, ge=0, description="guests on checks opened this service day (reports.day_starts)"
    )
    checks: int = Field(0, ge=0)
    open_checks: int = Field(0, ge=0)


class Assigned(Answer):
    server: str
    tables: list[str]


class Terminal(Answer):
    """A POS terminal: registered with the broker, and what it sent since the daemon started."""

    terminal: str
    registered: bool = Field(description="it has a password in the broker's password file")
    events: int = Field(ge=0)
    errors: int = Field(ge=0, description="events refused (rejected) with a reason")
    last_event_at: int | None = Field(None, description="epoch ms")
    last_type: str | None = None
    last_error: str | None = None
    last_error_at: int | None = None


class NewTerminal(Answer):
    """A terminal just added: its broker password, shown this once, and what to type in."""

    terminal: str
    password: str
    host: str
    port: int
    client_id: str
    topics: dict[str, list[str]]
    broker_reloaded: bool = Field(description="false: run `systemctl reload mosquitto`")


class RemovedTerminal(Answer):
    terminal: str
    broker_reloaded: bool


class ReceiptDocument(Answer):
    """One document a printer was sent, and what Floorlink made of it (daemon/receipts.py)."""

    at: int = Field(description="epoch ms")
    stream: str
    bytes: int
    result: str = Field(description="events, unrecognised, raster_only, rejected or dropped")
    kind: str | None = None
    lines: list[str] = Field(default_factory=list)
    fields: dict[str, str] = Field(default_factory=dict)
    matched: dict[str, str] = Field(default_factory=dict, description="field -> the pattern")
    events: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None


class ReceiptPrinter(Answer):
    printer: str = Field(description="the receipt input's name")
    documents: list[ReceiptDocument] = Field(description="newest first")


class Status(Answer):
    """Whatever `App.status()` returns; these keys are always there."""

    store: bool
    store_writable: bool = True
    clock_jump: dict[str, Any] | None = None
    broker: bool
    cloud: Literal["ok", "down", "disabled"]
    pager: Literal["ok", "down", "disabled"]
    ready: bool
    reasons: list[str]
    site: str | None = None
    site_name: str | None = None
    timezone: str | None = None
    version: str | None = None
    outbox_alarm: bool = False
    conflicts: list[dict[str, Any]] = Field(default_factory=list)
    degraded: list[str] = Field(default_factory=list)
    components: dict[str, Any] = Field(default_factory=dict)


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["ok", "unavailable"]
    reasons: list[str] | None = None
    degraded: list[str] | None = None


class Token(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str


class Device(BaseModel):
    """A paired device (a tablet at the host stand), without its credential."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=DEVICE_ID_PATTERN)
    name: str
    paired_at: str
    last_seen: str | None = None


class Paired(Device):
    """The answer to a pairing: the device, and its credential (shown this once)."""

    token: str = Field(description="Bearer credential for this device; only its hash is kept")


class CloudEvent(BaseModel):
    """One event of contract section 6's push (`POST {url}/v1/sites/{site}/events`)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(description="the same on every retry")
    seq: int = Field(ge=1, description="in order")
    type: str
    at: int = Field(description="when it was stored, epoch ms")
    data: dict[str, Any] = Field(description="for table.status: the table object (TableObject)")


class Report(Answer):
    """A report (docs/reports.md): its columns, rows, and why a blank (null) cell is blank."""

    report: str
    title: str
    columns: list[str]
    rows: list[list[str | int | None]] = Field(description="money as decimal strings")
    why: dict[str, str] = Field(description="column -> why its null cells are null")
    since: str = Field(description="the first service day, YYYY-MM-DD")
    until: str = Field(description="the last service day, YYYY-MM-DD")


class VisitSummary(Answer):
    visits: int = Field(ge=0)
    last_visit: str | None
    average_check: str | None = Field(description="decimal string, to the cent")
    favourites: list[str]
    allergies: str | None
    vip: bool


class GuestProfile(Answer):
    """A guest's profile (daemon/profiles.py), as the host sees it on seating."""

    id: str
    name: str | None
    vip: bool
    reservations: list[str]
    merges: list[str] = Field(description="the merges that joined duplicates into it")
    spend: str
    summary: VisitSummary


class GuestMerge(Answer):
    """One merge of duplicate profiles: undone (when) or still in force."""

    merge: str
    a: str | None = Field(None, description="one reservation of the first guest")
    b: str | None = Field(None, description="one reservation of the second guest")
    by: str | None = None
    at: int | None = Field(None, description="epoch ms")
    undone: int | None = Field(None, description="epoch ms, or null while in force")
    profile: str | None = Field(None, description="the profile the first reservation is in now")


class GuestMerges(Answer):
    merges: list[GuestMerge]


class GuestErased(Answer):
    profile: str
    events: int = Field(ge=0, description="events rewritten")
    outbox: int = Field(ge=0, description="outbox rows rewritten")


class GuestsPurged(Answer):
    guests: int = Field(ge=0, description="guests erased (none when no retention is set)")
    events: int = Field(ge=0)
    outbox: int = Field(ge=0)


# ---- the floor editor (daemon/floor_admin.py) ------------------------------------------------

Coordinate = Annotated[float, Field(ge=0, le=100)]
Shape = Literal["round", "square", "rect"]


class FloorTable(Body):
    """A table of the floor as the editor sets it: 0-100 plan coordinates (the ones the stand
    draws), shape, seats, section, a display name, the tables it combines with."""

    id: TableId
    seats: Count = Field(ge=1, le=100)
    section: str = Field("main", min_length=1, max_length=32)
    x: Coordinate | None = None
    y: Coordinate | None = None
    shape: Shape = "square"
    name: str | None = Field(None, min_length=1, max_length=32)
    combine_with: list[TableId] = Field(default_factory=list, max_length=20)
    aliases: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=20
    )


class FloorBody(Body):
    tables: list[FloorTable] = Field(min_length=1, max_length=500)


class Floor(Answer):
    """The floor the daemon runs with (it is in the event log), and whether the page may
    write the config file."""

    tables: list[FloorTable]
    editable: bool = Field(description="false: the daemon was started without a config path")
    path: str | None = None


class FloorCheck(Answer):
    """What applying this floor would do, or why it cannot be applied."""

    ok: bool
    errors: list[str] = Field(default_factory=list)
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)


class FloorApplied(FloorCheck):
    backup: str | None = Field(None, description="the previous config file, kept beside it")
