"""Every event and command type the core knows: one frozen class each, in one registry.

An *event* is a fact in the log (`check.opened`, `waitlist.paged`); a *command* is an input that
a part decides into events (`waitlist.add`). POS and host inputs are facts as they come, so their
type is an event type. Each class names its type, its version and its typed fields; the store,
replay, the report, the POS driver and the docs all read type names from here.

`parse(data)` checks a body against its class and never raises anything but `Rejected` with
`missing_field` or `bad_field`. `stored(data)` is what goes into the log: the declared fields
that were given, plus the version marker `_v` for versions after 1. Reading the log goes through
`upcast`, which brings an older stored body up to its class's current version, step by step, so
the fold only ever sees current bodies.

Adding an event type: one class here with `TYPE`, `GROUP` and fields, and one `_register` line.
Changing one: bump `VERSION` and add an upcaster from the old version (`UPCASTERS`).
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar, Literal, Self

from floorlink.daemon.core.reasons import Rejected

Course = Literal["apps", "entrees", "dessert"]
COURSES: tuple[str, ...] = typing.get_args(Course)

VERSION_KEY = "_v"


# ---- checking one value against its annotation ---------------------------------------------

Check = Callable[[Any], str | None]  # None when the value fits, else what was expected


def _checker(hint: Any) -> Check:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [_checker(a) for a in args if a is not type(None)]
        nullable = type(None) in args

        def union(v: Any) -> str | None:
            if v is None and nullable:
                return None
            wants = []
            for check in inner:
                wanted = check(v)
                if wanted is None:
                    return None
                wants.append(wanted)
            return " or ".join(wants)

        return union
    if origin is Literal:
        allowed = args
        return lambda v: None if v in allowed and type(v) is str else f"one of {', '.join(allowed)}"
    if hint is bool:
        return lambda v: None if type(v) is bool else "true or false"
    if hint is int:
        return lambda v: None if type(v) is int else "an integer"
    if hint is float:
        return lambda v: None if type(v) in (int, float) else "a number"
    if hint is str:
        return lambda v: None if type(v) is str else "a string"
    if origin is list or hint is list:
        return lambda v: None if type(v) is list else "a list"
    if origin is dict or hint is dict:
        return lambda v: None if type(v) is dict else "an object"
    if hint is Any:
        return lambda v: None
    raise TypeError(f"no checker for {hint!r}")  # pragma: no cover - a new field type


_PLAIN = {str: str, int: int, bool: bool, list: list, dict: dict, type(None): type(None)}


def _fast_types(hint: Any) -> frozenset[type]:
    """The exact types that fit `hint` without a closer look (empty: always look closer)."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        parts = [_fast_types(a) for a in typing.get_args(hint)]
        return frozenset().union(*parts) if all(parts) else frozenset()
    if hint is float:
        return frozenset({float, int})
    plain = _PLAIN.get(origin or hint)
    return frozenset({plain}) if plain is not None else frozenset()


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value, default=repr)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


# ---- the base classes ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Body:
    """A typed event or command body. Subclasses declare TYPE, GROUP, VERSION and fields."""

    TYPE: ClassVar[str] = ""
    GROUP: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    #: Keep keys this class does not declare (a cloud record is stored as it came).
    OPEN: ClassVar[bool] = False
    #: Fields written to the log even when the input left them out (their defaults).
    ALWAYS: ClassVar[tuple[str, ...]] = ()
    _fields: ClassVar[tuple[tuple[str, bool, Check], ...]] = ()
    _fast: ClassVar[tuple[tuple[str, frozenset[type], Check], ...]] = ()
    _names: ClassVar[frozenset[str]] = frozenset()
    _required: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def _prepare(cls) -> None:
        hints = typing.get_type_hints(cls)
        cls._fields = tuple(
            (
                f.name,
                f.default is MISSING and f.default_factory is MISSING,
                _checker(hints[f.name]),
            )
            for f in fields(cls)
        )
        cls._fast = tuple((name, _fast_types(hints[name]), check) for name, _, check in cls._fields)
        cls._names = frozenset(name for name, _, _ in cls._fields)
        cls._required = tuple(name for name, needed, _ in cls._fields if needed)

    @classmethod
    def required(cls) -> tuple[str, ...]:
        """The fields an input of this type must carry, in declared order."""
        return cls._required

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(name for name, _, _ in cls._fields)

    @classmethod
    def parse(cls, data: Any) -> Self:
        """The typed body of `data`, or Rejected(missing_field | bad_field) with a sentence."""
        if not isinstance(data, Mapping):
            raise Rejected("bad_field", f"{cls.TYPE}: expected an object, got {_shown(data)}")
        missing = [name for name in cls._required if data.get(name) is None]
        if missing:
            raise Rejected("missing_field", f"{cls.TYPE} needs {', '.join(missing)}")
        values: dict[str, Any] = {}
        for name, fast, check in cls._fast:
            if name not in data:
                continue
            value = data[name]
            if type(value) not in fast:
                wanted = check(value)
                if wanted is not None:
                    raise Rejected("bad_field", f"{name}: expected {wanted}, got {_shown(value)}")
            values[name] = value
        body = cls(**values)
        body.validate()
        return body

    def validate(self) -> None:
        """Checks beyond the types (ranges); raise Rejected("bad_field", ...)."""

    @classmethod
    def stored(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """What the log keeps of an accepted body (call after `parse`)."""
        if cls.OPEN:
            out = dict(data)
        else:
            declared = cls._names
            out = {k: v for k, v in data.items() if k in declared}
        if cls.ALWAYS:
            body = cls.parse(data)
            for name in cls.ALWAYS:
                out[name] = getattr(body, name)
        if cls.VERSION > 1:
            out[VERSION_KEY] = cls.VERSION
        return out


def _check_items(items: list[dict[str, Any]] | None) -> None:
    for n, item in enumerate(items or ()):
        if type(item) is not dict or type(item.get("name")) is not str:
            raise Rejected("bad_field", f"items.{n}: expected an object with a name")
        qty = item.get("qty", 1)
        if type(qty) is not int or qty < 1:
            raise Rejected("bad_field", f"items.{n}.qty: expected an integer >= 1")


def _check_money(**values: str | None) -> None:
    for name, value in values.items():
        if value is not None and not _is_decimal(value):
            raise Rejected("bad_field", f'{name}: expected a decimal string such as "12.50"')


def _positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise Rejected("bad_field", f"{name}: expected an integer >= 1, got {value}")


# ---- POS check events (contract section 3) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckOpened(Body):
    TYPE = "check.opened"
    GROUP = "check"
    check: str
    table: str
    guests: int | None = None
    server: str | None = None

    def validate(self) -> None:
        _positive("guests", self.guests)


@dataclass(frozen=True, slots=True)
class CheckUpdated(Body):
    TYPE = "check.updated"
    GROUP = "check"
    check: str
    guests: int

    def validate(self) -> None:
        _positive("guests", self.guests)


@dataclass(frozen=True, slots=True)
class CheckItemsAdded(Body):
    TYPE = "check.items_added"
    GROUP = "check"
    check: str
    items: list[dict[str, Any]]

    def validate(self) -> None:
        _check_items(self.items)


@dataclass(frozen=True, slots=True)
class CheckCourseFired(Body):
    TYPE = "check.course_fired"
    GROUP = "check"
    check: str
    course: Course


@dataclass(frozen=True, slots=True)
class CheckPrinted(Body):
    TYPE = "check.printed"
    GROUP = "check"
    check: str


@dataclass(frozen=True, slots=True)
class CheckClosed(Body):
    TYPE = "check.closed"
    GROUP = "check"
    check: str
    total: str
    tip: str | None = None

    def validate(self) -> None:
        _check_money(total=self.total, tip=self.tip)


@dataclass(frozen=True, slots=True)
class CheckVoided(Body):
    TYPE = "check.voided"
    GROUP = "check"
    check: str


@dataclass(frozen=True, slots=True)
class CheckTransferred(Body):
    TYPE = "check.transferred"
    GROUP = "check"
    check: str
    table: str


@dataclass(frozen=True, slots=True)
class TableCleared(Body):
    TYPE = "table.cleared"
    GROUP = "table"
    table: str


# ---- host table commands (their input is the fact) -----------------------------------------


@dataclass(frozen=True, slots=True)
class HostSeated(Body):
    """v2 writes `source` and `vip` always; v1 left them out when they were the defaults."""

    TYPE = "host.seated"
    GROUP = "host"
    VERSION = 2
    ALWAYS = ("source", "vip")
    table: str
    party_size: int
    source: str = "walk_in"
    vip: bool = False
    name: str | None = None
    reservation: str | None = None
    waitlist: str | None = None

    def validate(self) -> None:
        _positive("party_size", self.party_size)


@dataclass(frozen=True, slots=True)
class HostCleared(Body):
    TYPE = "host.cleared"
    GROUP = "host"
    table: str


@dataclass(frozen=True, slots=True)
class HostBlocked(Body):
    TYPE = "host.blocked"
    GROUP = "host"
    table: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class HostUnblocked(Body):
    TYPE = "host.unblocked"
    GROUP = "host"
    table: str


# ---- holds (the reservations part's table changes) -----------------------------------------


@dataclass(frozen=True, slots=True)
class TableHeld(Body):
    TYPE = "table.held"
    GROUP = "hold"
    table: str
    reservation: str


@dataclass(frozen=True, slots=True)
class TableReleased(Body):
    """`reason: no_show` when the party never came (the cloud is told)."""

    TYPE = "table.released"
    GROUP = "hold"
    table: str
    reservation: str
    reason: str | None = None


# ---- the waitlist's facts --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WaitlistAdded(Body):
    TYPE = "waitlist.added"
    GROUP = "waitlist"
    entry: str
    name: str
    party_size: int
    quoted_minutes: int
    pager: int | None = None
    phone: str | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class WaitlistPaged(Body):
    TYPE = "waitlist.paged"
    GROUP = "waitlist"
    entry: str
    n: int
    reason: str
    pager: int | None = None
    table: str | None = None


@dataclass(frozen=True, slots=True)
class WaitlistSeated(Body):
    TYPE = "waitlist.seated"
    GROUP = "waitlist"
    entry: str
    table: str


@dataclass(frozen=True, slots=True)
class WaitlistLeftEvent(Body):
    TYPE = "waitlist.left"
    GROUP = "waitlist"
    entry: str
    reason: str


@dataclass(frozen=True, slots=True)
class WaitlistDelivery(Body):
    """Where a page got (docs/pagers.md); stays on site."""

    TYPE = "waitlist.delivery"
    GROUP = "waitlist"
    entry: str
    n: int
    state: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class HostAssigned(Body):
    """The host assigns a server to tables and sections for the shift (checked and expanded by
    the servers part, daemon/core/servers.py); both lists empty ends the server's assignment."""

    TYPE = "host.assigned"
    GROUP = "servers"
    server: str
    tables: list[Any] | None = None
    sections: list[Any] | None = None


@dataclass(frozen=True, slots=True)
class PagerTested(Body):
    """A test page to any pager number (set-up, a new coaster, a doubtful transmitter): it
    leaves through the pager outbox like any page, and touches no party."""

    TYPE = "pager.tested"
    GROUP = "waitlist"
    test: str
    pager: int


@dataclass(frozen=True, slots=True)
class WaitlistReplied(Body):
    TYPE = "waitlist.replied"
    GROUP = "waitlist"
    entry: str
    reply: str


@dataclass(frozen=True, slots=True)
class WaitlistShifted(Body):
    """The box's time moved (it was down, or its wall clock was corrected): every live party's
    times move with it, so waits and timers stand where they stood. Stays on site."""

    TYPE = "waitlist.shifted"
    GROUP = "waitlist"
    gap_ms: int
    reason: str


@dataclass(frozen=True, slots=True)
class WaitlistWithdrawn(Body):
    """A page for a table that was taken before the party came is withdrawn: the party waits
    again at the head of the line, and is never re-paged "for" that table. Stays on site."""

    TYPE = "waitlist.withdrawn"
    GROUP = "waitlist"
    entry: str
    table: str
    reason: str


@dataclass(frozen=True, slots=True)
class WaitlistHeadsUp(Body):
    """The next party's heads-up page: a fitting table is predicted free soon (at most once per
    party; not one of its `max_pages`). Stays on site."""

    TYPE = "waitlist.heads_up"
    GROUP = "waitlist"
    entry: str
    table: str
    pager: int | None = None


@dataclass(frozen=True, slots=True)
class WaitlistArmed(Body):
    """`paging.trigger = "after_close"`: a freed table pages at `due_at` (epoch ms); `due_at`
    null disarms it (the table was taken first). Stays on site."""

    TYPE = "waitlist.armed"
    GROUP = "waitlist"
    table: str
    due_at: int | None = None


# ---- the reservations part's facts -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReservationUpserted(Body):
    """A reservation as the cloud sent it (kept whole: the cloud's extra keys too)."""

    TYPE = "reservation.upserted"
    GROUP = "reservations"
    OPEN = True
    id: str
    status: str | None = None
    time: str | None = None
    table: str | None = None
    party_size: int | None = None
    guest: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CloudCursor(Body):
    TYPE = "cloud.cursor"
    GROUP = "reservations"
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class ConflictDetected(Body):
    TYPE = "conflict.detected"
    GROUP = "reservations"
    kind: str
    reservation: str
    resolution: str
    table: str | None = None


@dataclass(frozen=True, slots=True)
class ReservationCompleted(Body):
    TYPE = "reservation.completed"
    GROUP = "reservations"
    reservation: str
    table: str | None = None
    total: str | None = None
    covers: int | None = None
    items: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class ReservationPartialEvent(Body):
    """Part of a reservation's party is here: its table is held, the turn has not started."""

    TYPE = "reservation.partial"
    GROUP = "reservations"
    reservation: str
    table: str
    arrived: int
    party_size: int


@dataclass(frozen=True, slots=True)
class ReservationLinked(Body):
    TYPE = "reservation.linked"
    GROUP = "reservations"
    reservation: str
    check: str
    confidence: float
    by: str


@dataclass(frozen=True, slots=True)
class ReservationUnlinked(Body):
    TYPE = "reservation.unlinked"
    GROUP = "reservations"
    reservation: str
    by: str


# ---- the floor itself (daemon/core/floor_changes.py) -----------------------------------------


@dataclass(frozen=True, slots=True)
class FloorChanged(Body):
    """The floor after a change (every table, in order: the fold replaces the floor with it),
    and what changed, for people and the docs. The first one in a log is its floor's record."""

    TYPE = "floor.changed"
    GROUP = "floor"
    tables: list[dict[str, Any]]
    added: list[Any] | None = None
    removed: list[Any] | None = None
    changed: list[Any] | None = None


# ---- commands: inputs a part decides into events -------------------------------------------


@dataclass(frozen=True, slots=True)
class WaitlistAdd(Body):
    """Checked in full by the waitlist's own rules (sentences the host stand shows)."""

    TYPE = "waitlist.add"
    GROUP = "waitlist"
    name: Any = None
    party_size: Any = None
    pager: Any = None
    phone: Any = None
    notes: Any = None


@dataclass(frozen=True, slots=True)
class WaitlistPage(Body):
    TYPE = "waitlist.page"
    GROUP = "waitlist"
    entry: str
    reason: str | None = None
    table: str | None = None


@dataclass(frozen=True, slots=True)
class WaitlistSeat(Body):
    TYPE = "waitlist.seat"
    GROUP = "waitlist"
    entry: str
    table: str


@dataclass(frozen=True, slots=True)
class WaitlistLeft(Body):
    TYPE = "waitlist.left"
    GROUP = "waitlist"
    entry: str


@dataclass(frozen=True, slots=True)
class WaitlistDue(Body):
    """A timer: re-pages and give-ups that are due at the input's `at`."""

    TYPE = "waitlist.due"
    GROUP = "waitlist"


@dataclass(frozen=True, slots=True)
class WaitlistWithdraw(Body):
    """The waitlist's own follow-up: the table a party was paged for was taken."""

    TYPE = "waitlist.withdraw"
    GROUP = "waitlist"
    entry: str
    table: str


@dataclass(frozen=True, slots=True)
class WaitlistArm(Body):
    """The waitlist's own follow-up: start (or, with `off`, stop) a freed table's
    after-close timer."""

    TYPE = "waitlist.arm"
    GROUP = "waitlist"
    table: str
    off: bool = False


@dataclass(frozen=True, slots=True)
class FloorChange(Body):
    """The floor as it should be (the editor, a reload, a start with a changed config): every
    table, checked in full by daemon/core/floor_changes.py."""

    TYPE = "floor.change"
    GROUP = "floor"
    tables: list[Any]


@dataclass(frozen=True, slots=True)
class BoxResumed(Body):
    """The shell's word that box time moved by `gap_ms` ("restart": downtime; "clock": a wall
    clock jump), checked by the waitlist part."""

    TYPE = "box.resumed"
    GROUP = "waitlist"
    gap_ms: Any = None
    reason: Any = None


@dataclass(frozen=True, slots=True)
class PagerDelivery(Body):
    """The pager sender's report of where a page got (which states exist: the waitlist part)."""

    TYPE = "pager.delivery"
    GROUP = "waitlist"
    entry: str
    state: str
    n: int
    detail: Any = None


@dataclass(frozen=True, slots=True)
class PagerReply(Body):
    """A guest's text reply: 1 on my way, 9 cancel."""

    TYPE = "pager.reply"
    GROUP = "waitlist"
    entry: str
    answer: Any = None


@dataclass(frozen=True, slots=True)
class PagerTest(Body):
    """The host's or IT's "test page" for a pager number (checked by the waitlist part)."""

    TYPE = "pager.test"
    GROUP = "waitlist"
    pager: Any = None


@dataclass(frozen=True, slots=True)
class CloudPulled(Body):
    TYPE = "cloud.pulled"
    GROUP = "reservations"
    reservations: list[dict[str, Any]]
    cursor: str | None = None

    def validate(self) -> None:
        for n, raw in enumerate(self.reservations):
            if type(raw) is not dict:
                raise Rejected("bad_field", f"reservations.{n}: expected an object")
            try:
                ReservationUpserted.parse(raw)
            except Rejected as exc:
                raise Rejected(exc.reason, f"reservations.{n}: {exc.error}") from None


@dataclass(frozen=True, slots=True)
class ReservationsDue(Body):
    """A timer: holds that start or end at the input's `at`."""

    TYPE = "reservations.due"
    GROUP = "reservations"


@dataclass(frozen=True, slots=True)
class ReservationArrive(Body):
    TYPE = "reservation.arrive"
    GROUP = "reservations"
    reservation: str
    table: str


@dataclass(frozen=True, slots=True)
class ReservationComplete(Body):
    TYPE = "reservation.complete"
    GROUP = "reservations"
    reservation: str
    table: str | None = None
    total: str | None = None
    covers: int | None = None
    items: list[dict[str, Any]] | None = None

    def validate(self) -> None:
        _check_money(total=self.total)
        _check_items(self.items)


@dataclass(frozen=True, slots=True)
class ReservationPartial(Body):
    """ "2 of 4 here" from the host stand (`arrived` is checked by the part, with its sentence)."""

    TYPE = "reservation.partial"
    GROUP = "reservations"
    reservation: str
    table: str
    arrived: Any = None


@dataclass(frozen=True, slots=True)
class ReservationLink(Body):
    """Link a reservation to a POS check: by the host (certain) or `auto` with a confidence."""

    TYPE = "reservation.link"
    GROUP = "reservations"
    reservation: str
    check: str
    by: str | None = None
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class ReservationUnlink(Body):
    TYPE = "reservation.unlink"
    GROUP = "reservations"
    reservation: str
    by: str | None = None


# ---- the registry --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GuestMerged(Body):
    """Two guest profiles are one guest (duplicates the matching could not see): `a` and `b` are
    one reservation of each, so the merge survives any later rebuild (daemon/core/guests.py)."""

    TYPE = "guest.merged"
    GROUP = "guests"
    merge: str
    a: str
    b: str
    by: str


@dataclass(frozen=True, slots=True)
class GuestUnmerged(Body):
    """A merge undone: the profiles split back exactly as the matching alone makes them."""

    TYPE = "guest.unmerged"
    GROUP = "guests"
    merge: str
    by: str


@dataclass(frozen=True, slots=True)
class GuestMerge(Body):
    """Merge the guests of two reservations (one of each duplicate profile)."""

    TYPE = "guest.merge"
    GROUP = "guests"
    a: str
    b: str
    by: str | None = None


@dataclass(frozen=True, slots=True)
class GuestUnmerge(Body):
    """Undo one merge, by its id."""

    TYPE = "guest.unmerge"
    GROUP = "guests"
    merge: str
    by: str | None = None


#: type -> class of every logged event.
EVENTS: dict[str, type[Body]] = {}
#: type -> class of every command (an input that is not itself logged).
COMMANDS: dict[str, type[Body]] = {}


def _register(table: dict[str, type[Body]], *classes: type[Body]) -> None:
    for cls in classes:
        cls._prepare()
        table[cls.TYPE] = cls


_register(
    EVENTS,
    CheckOpened,
    CheckUpdated,
    CheckItemsAdded,
    CheckCourseFired,
    CheckPrinted,
    CheckClosed,
    CheckVoided,
    CheckTransferred,
    TableCleared,
    HostSeated,
    HostCleared,
    HostBlocked,
    HostUnblocked,
    TableHeld,
    TableReleased,
    WaitlistAdded,
    WaitlistPaged,
    WaitlistSeated,
    WaitlistLeftEvent,
    WaitlistDelivery,
    WaitlistReplied,
    WaitlistShifted,
    WaitlistWithdrawn,
    WaitlistHeadsUp,
    WaitlistArmed,
    PagerTested,
    HostAssigned,
    ReservationUpserted,
    CloudCursor,
    ConflictDetected,
    ReservationCompleted,
    ReservationPartialEvent,
    ReservationLinked,
    ReservationUnlinked,
    GuestMerged,
    GuestUnmerged,
    FloorChanged,
)
_register(
    COMMANDS,
    WaitlistAdd,
    WaitlistPage,
    WaitlistSeat,
    WaitlistLeft,
    WaitlistDue,
    WaitlistWithdraw,
    WaitlistArm,
    BoxResumed,
    PagerDelivery,
    PagerReply,
    PagerTest,
    CloudPulled,
    ReservationsDue,
    ReservationArrive,
    ReservationComplete,
    ReservationPartial,
    ReservationLink,
    ReservationUnlink,
    GuestMerge,
    GuestUnmerge,
    FloorChange,
)


def types_in(*groups: str) -> frozenset[str]:
    """The event types of these groups."""
    return frozenset(t for t, cls in EVENTS.items() if cls.GROUP in groups)


CHECK_EVENTS = types_in("check")
#: What a POS terminal may send (contract section 3), in the contract's order.
POS_EVENTS: tuple[str, ...] = (*(t for t in EVENTS if t in CHECK_EVENTS), TableCleared.TYPE)
HOST_EVENTS = types_in("host")
HOLD_EVENTS = types_in("hold")
#: Events that name one table and change it directly.
TABLE_EVENTS = frozenset({TableCleared.TYPE}) | HOST_EVENTS


def input_class(itype: str, group: str | None = None) -> type[Body] | None:
    """The class an input of this type is checked against: a command first, else an event
    (POS and host inputs are facts as they come). With `group`, only that part's types."""
    cls = COMMANDS.get(itype) or EVENTS.get(itype)
    if cls is None or (group is not None and group != cls.GROUP):
        return None
    return cls


def is_command(itype: str, group: str) -> bool:
    """Is this a command of that part (read at call time, so a registration counts at once)?"""
    cls = COMMANDS.get(itype) if type(itype) is str else None
    return cls is not None and group == cls.GROUP


def commands_of(group: str) -> frozenset[str]:
    """The command types a part decides (its `handles`)."""
    return frozenset(t for t, cls in COMMANDS.items() if group == cls.GROUP)


# ---- reading old logs ----------------------------------------------------------------------

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def _host_seated_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 left out `source` (walk_in) and `vip` (false) when they were the defaults, and wrote
    `source: null` for a walk-in; v2 always writes both."""
    return data | {"source": data.get("source") or "walk_in", "vip": bool(data.get("vip", False))}


#: (type, stored version) -> the body at the next version.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("host.seated", 1): _host_seated_1_to_2,
}


def upcast(etype: str, data: Mapping[str, Any]) -> Mapping[str, Any]:
    """A stored body at its class's current version (unchanged when it already is)."""
    cls = EVENTS.get(etype)
    if cls is None or cls.VERSION == 1:
        return data
    version = data.get(VERSION_KEY, 1)
    if version == cls.VERSION or type(version) is not int:
        return data
    out = dict(data)
    while version < cls.VERSION:
        out = UPCASTERS[(etype, version)](out)
        version += 1
    out[VERSION_KEY] = version
    return out


def _is_decimal(text: str) -> bool:
    head, _, tail = text.removeprefix("-").partition(".")
    return (
        0 < len(head) <= 9
        and head.isascii()
        and head.isdigit()
        and (not _ or (0 < len(tail) <= 4 and tail.isascii() and tail.isdigit()))
    )


# ---- the catalogue (docs/events.md) --------------------------------------------------------


def _hint_text(cls: type[Body], name: str) -> str:
    text = str(typing.get_type_hints(cls)[name])
    for noise in ("typing.", "<class '", "'>"):
        text = text.replace(noise, "")
    return text.replace("NoneType", "None").replace(" | ", " or ")


def catalogue() -> str:
    """docs/events.md: every type of the registry with its version and fields."""
    lines = [
        "# Event and command types",
        "",
        "<!-- Generated from daemon/core/events.py by `make docs`: edit the registry. -->",
        "",
        "Every type the core knows, from its one registry (`daemon/core/events.py`). *Events* are",
        "the facts in the log; *commands* are inputs a part decides into events. A field without",
        "a default must be present; a body that lacks one or has a field of another type is",
        "rejected with `missing_field` or `bad_field` and changes nothing. A stored body of an",
        f"older version carries `{VERSION_KEY}` (absent means 1) and is upcast when it is read.",
        "",
    ]
    for title, table in (("Events", EVENTS), ("Commands", COMMANDS)):
        lines += [f"## {title}", "", "| type | version | group | fields |", "|---|---|---|---|"]
        for etype, cls in table.items():
            parts = []
            for name, needed, _ in cls._fields:
                mark = "" if needed else "?"
                parts.append(f"`{name}{mark}: {_hint_text(cls, name)}`")
            extra = " (and any other keys)" if cls.OPEN else ""
            row = f"| `{etype}` | {cls.VERSION} | {cls.GROUP} | {', '.join(parts) or '-'}{extra} |"
            lines.append(row)
        lines.append("")
    lines += ["Upcasters (stored version -> next):", ""]
    for (etype, version), fn in UPCASTERS.items():
        lines.append(f"- `{etype}` v{version} -> v{version + 1}: {(fn.__doc__ or '').strip()}")
    return "\n".join(lines) + "\n"
