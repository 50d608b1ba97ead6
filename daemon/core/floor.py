"""The floor: every table transition lives here.

Order independence is built in, not tested in: the floor keeps, per check, facts that only grow
(when it was opened and where, which courses were fired, when it was printed, closed, voided,
transferred) and *derives* each table's status from them. Applying the events of a check in any
order, any of them repeated, therefore ends in the same table status. Times are the events' own
`at` (epoch ms), never the arrival order; ties break on the event key, so the fold is deterministic.

Rules (contract section 3, and the outcomes the contract leaves to us):
- A check occupies the table of its last location (opened, then transfers in `at` order) while it
  is neither closed nor voided. Open checks -> `seated`, or `check_dropped` once all are printed.
- A finished stay (closed, or transferred away) leaves the table `bussing` until a clear whose
  `at` is at or after the stay began. A clear that comes while a check is still open is kept: when
  that check closes, the table goes straight to `available` (the busser has already reset it).
- A voided check leaves nothing to bus: its last table is freed.
- A host seating (no check yet) keeps the table `seated` until a clear or until a check on it ends.
- `blocked` and `reserved` apply only to a free table; a check opened on a blocked table seats it
  (the guests are there) and the block applies again once the table is cleared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from floorlink.daemon.core import events as ev
from floorlink.daemon.core.events import CHECK_EVENTS, COURSES, HOLD_EVENTS, TABLE_EVENTS
from floorlink.daemon.core.rules import STATUSES as STATUSES
from floorlink.daemon.core.rules import Seen, Status, status_of


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A table of the floor. The fold needs seats and section; the rest is the plan the stand
    draws (0-100 coordinates, shape, a display name) and what quotes and names read. The floor
    is data in the log (`floor.changed`, daemon/core/floor_changes.py), seeded from the config."""

    id: str
    seats: int
    section: str = "main"
    x: float | None = None
    y: float | None = None
    shape: str = "square"
    name: str | None = None
    combine_with: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass(slots=True)
class CheckFacts:
    """Everything known about one POS check. Each field only ever grows or settles on a minimum."""

    number: str
    opened: tuple[int, str, str] | None = None  # (at, key, table): the earliest opening wins
    opened_guests: int | None = None
    server: str | None = None
    transfers: dict[str, tuple[int, str]] = field(default_factory=dict)  # key -> (at, table)
    guests: tuple[int, str, int] | None = None  # the latest update: (at, key, guests)
    courses: dict[str, int] = field(default_factory=dict)  # course -> first fired at
    printed_at: int | None = None
    closed_at: int | None = None
    total: str | None = None
    tip: str | None = None
    voided_at: int | None = None
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # key -> items

    def segments(self) -> list[Segment]:
        """The check's stays, table by table, in time order."""
        chain: list[tuple[int, str, str]] = []
        if self.opened is not None:
            chain.append(self.opened)
        chain.extend((at, key, table) for key, (at, table) in self.transfers.items())
        chain.sort()
        stays: list[tuple[int, str]] = []
        for at, _key, table in chain:
            if stays and stays[-1][1] == table:
                continue
            stays.append((at, table))
        segs: list[Segment] = []
        for i, (start, table) in enumerate(stays):
            if i + 1 < len(stays):
                segs.append(Segment(table, start, stays[i + 1][0], "moved"))
            elif self.closed_at is not None:
                segs.append(Segment(table, start, max(self.closed_at, start), "closed"))
            elif self.voided_at is not None:
                segs.append(Segment(table, start, max(self.voided_at, start), "voided"))
            else:
                segs.append(Segment(table, start, None, None))
        return segs

    @property
    def party_size(self) -> int | None:
        if self.guests is not None:
            return self.guests[2]
        return self.opened_guests

    @property
    def course(self) -> str | None:
        fired = [c for c in COURSES if c in self.courses]
        return fired[-1] if fired else None

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "opened": list(self.opened) if self.opened else None,
            "opened_guests": self.opened_guests,
            "server": self.server,
            "transfers": {k: list(v) for k, v in sorted(self.transfers.items())},
            "guests": list(self.guests) if self.guests else None,
            "courses": dict(sorted(self.courses.items())),
            "printed_at": self.printed_at,
            "closed_at": self.closed_at,
            "total": self.total,
            "tip": self.tip,
            "voided_at": self.voided_at,
            "items": dict(sorted(self.items.items())),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> CheckFacts:
        opened = raw["opened"]
        return cls(
            number=raw["number"],
            opened=(opened[0], opened[1], opened[2]) if opened else None,
            opened_guests=raw["opened_guests"],
            server=raw["server"],
            transfers={k: (v[0], v[1]) for k, v in raw["transfers"].items()},
            guests=(raw["guests"][0], raw["guests"][1], raw["guests"][2])
            if raw["guests"]
            else None,
            courses=dict(raw["courses"]),
            printed_at=raw["printed_at"],
            closed_at=raw["closed_at"],
            total=raw["total"],
            tip=raw["tip"],
            voided_at=raw["voided_at"],
            items={k: list(v) for k, v in raw["items"].items()},
        )


@dataclass(frozen=True, slots=True)
class Segment:
    table: str
    start: int
    end: int | None
    ended_by: Literal["moved", "closed", "voided"] | None

    @property
    def open(self) -> bool:
        return self.ended_by is None


@dataclass(frozen=True, slots=True)
class Party:
    """Who the host seated: from a reservation, the waitlist, or a walk-in at the stand."""

    at: int
    size: int
    name: str | None = None
    source: str = "walk_in"
    reservation: str | None = None
    waitlist: str | None = None
    vip: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "size": self.size,
            "name": self.name,
            "source": self.source,
            "reservation": self.reservation,
            "waitlist": self.waitlist,
            "vip": self.vip,
        }


@dataclass(frozen=True, slots=True)
class TableState:
    """A table as derived from the facts. `since` is epoch ms of the start of its status."""

    id: str
    status: Status
    since: int | None
    course: str | None = None
    course_since: int | None = None
    checks: tuple[str, ...] = ()
    server: str | None = None
    guests: int | None = None
    party: Party | None = None
    blocked_reason: str | None = None
    held_for: str | None = None
    blocked: bool = False  # a block is set (it shows only when nobody is at the table)


@dataclass(slots=True)
class Floor:
    """The facts of every check and table, and the tables' derived states."""

    specs: dict[str, TableSpec]
    checks: dict[str, CheckFacts] = field(default_factory=dict)
    # table -> checks that may still matter to it (open, or finished and not yet cleared)
    live: dict[str, set[str]] = field(default_factory=dict)
    cleared_at: dict[str, int] = field(default_factory=dict)
    freed_at: dict[str, int] = field(default_factory=dict)
    parties: dict[str, Party] = field(default_factory=dict)
    blocked: dict[str, tuple[str | None, int]] = field(default_factory=dict)
    held: dict[str, tuple[str, int]] = field(default_factory=dict)  # table -> (reservation, at)
    states: dict[str, TableState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for tid in self.specs:
            self.live.setdefault(tid, set())
        if not self.states:
            self.states = {tid: self.derive(tid) for tid in self.specs}

    # ---- folding -------------------------------------------------------------------------

    def apply(self, etype: str, key: str, at: int, data: Mapping[str, Any]) -> list[str]:
        """Fold one stored event; return the ids of the tables whose derived state changed."""
        touched: set[str]
        if etype in CHECK_EVENTS:
            touched = self._apply_check(etype, key, at, data)
        elif etype in TABLE_EVENTS or etype in HOLD_EVENTS:
            touched = self._apply_table(etype, at, data)
        else:
            return []
        changed = []
        for tid in sorted(touched):
            if tid not in self.specs:
                continue
            new = self.derive(tid)
            if new != self.states.get(tid):
                self.states[tid] = new
                changed.append(tid)
        return changed

    def _apply_check(self, etype: str, key: str, at: int, data: Mapping[str, Any]) -> set[str]:
        number = str(data["check"])
        facts = self.checks.get(number)
        if facts is None:
            facts = self.checks[number] = CheckFacts(number)
        before = {seg.table for seg in facts.segments()}
        if etype == ev.CheckOpened.TYPE:
            candidate = (at, key, str(data["table"]))
            if facts.opened is None or candidate < facts.opened:
                facts.opened = candidate
                facts.opened_guests = data.get("guests")
                facts.server = data.get("server")
        elif etype == ev.CheckUpdated.TYPE:
            if data.get("guests") is not None:
                update = (at, key, int(data["guests"]))
                if facts.guests is None or update[:2] > facts.guests[:2]:
                    facts.guests = update
        elif etype == ev.CheckItemsAdded.TYPE:
            facts.items[key] = list(data.get("items", []))
        elif etype == ev.CheckCourseFired.TYPE:
            course = str(data["course"])
            facts.courses[course] = min(at, facts.courses.get(course, at))
        elif etype == ev.CheckPrinted.TYPE:
            facts.printed_at = at if facts.printed_at is None else min(at, facts.printed_at)
        elif etype == ev.CheckClosed.TYPE:
            if facts.closed_at is None or at < facts.closed_at:
                facts.closed_at = at
                facts.total = data.get("total")
                facts.tip = data.get("tip")
        elif etype == ev.CheckVoided.TYPE:
            facts.voided_at = at if facts.voided_at is None else min(at, facts.voided_at)
        elif etype == ev.CheckTransferred.TYPE:
            facts.transfers[key] = (at, str(data["table"]))
        return self._reindex(facts, before)

    def _reindex(self, facts: CheckFacts, before: set[str]) -> set[str]:
        """Put the check in the live set of each table where it still matters."""
        segs = facts.segments()
        tables = before | {seg.table for seg in segs}
        for tid in tables:
            live = self.live.get(tid)
            if live is None:
                continue
            live.discard(facts.number)
            if any(seg.table == tid and self._matters(seg) for seg in segs):
                live.add(facts.number)
            for seg in segs:
                if seg.table == tid and seg.ended_by == "voided" and seg.end is not None:
                    self.freed_at[tid] = max(self.freed_at.get(tid, seg.end), seg.end)
        return tables

    def _matters(self, seg: Segment) -> bool:
        if seg.open:
            return True
        if seg.ended_by == "voided":
            return False
        return seg.start > self.cleared_at.get(seg.table, -1)

    def _apply_table(self, etype: str, at: int, data: Mapping[str, Any]) -> set[str]:
        tid = str(data["table"])
        if tid not in self.specs:
            return set()
        if etype in (ev.TableCleared.TYPE, ev.HostCleared.TYPE):
            self.cleared_at[tid] = max(self.cleared_at.get(tid, at), at)
            self.freed_at[tid] = max(self.freed_at.get(tid, at), at)
            self.live[tid] = {
                n
                for n in self.live[tid]
                if any(s.table == tid and self._matters(s) for s in self.checks[n].segments())
            }
        elif etype == ev.HostSeated.TYPE:
            self.parties[tid] = Party(
                at=at,
                size=int(data["party_size"]),
                name=data.get("name"),
                source=str(data.get("source") or "walk_in"),
                reservation=data.get("reservation"),
                waitlist=data.get("waitlist"),
                vip=bool(data.get("vip", False)),
            )
        elif etype == ev.HostBlocked.TYPE:
            self.blocked[tid] = (data.get("reason"), at)
        elif etype == ev.HostUnblocked.TYPE:
            if self.blocked.pop(tid, None) is not None:
                self.freed_at[tid] = max(self.freed_at.get(tid, at), at)
        elif etype == ev.TableHeld.TYPE:
            self.held[tid] = (str(data["reservation"]), at)
        elif etype == ev.TableReleased.TYPE:
            held = self.held.get(tid)
            if held is not None and held[0] == data.get("reservation"):
                del self.held[tid]
                self.freed_at[tid] = max(self.freed_at.get(tid, at), at)
        return {tid}

    # ---- deriving ------------------------------------------------------------------------

    def derive(self, tid: str) -> TableState:
        """The table's state, computed from the facts alone."""
        open_checks: list[tuple[Segment, CheckFacts]] = []
        finished: list[Segment] = []
        for number in sorted(self.live.get(tid, ())):
            facts = self.checks[number]
            for seg in facts.segments():
                if seg.table != tid:
                    continue
                if seg.open:
                    open_checks.append((seg, facts))
                elif self._matters(seg):
                    finished.append(seg)
        cleared = self.cleared_at.get(tid, -1)
        party = self.parties.get(tid)
        if party is not None and party.at <= cleared:
            party = None
        if (
            party is not None
            and not open_checks
            and any(seg.end is not None and seg.end >= party.at for seg in finished)
        ):
            party = None  # the party that was seated has left
        blocked = self.blocked.get(tid)
        held = self.held.get(tid)
        extras: dict[str, Any] = {
            "blocked_reason": blocked[0] if blocked else None,
            "held_for": held[0] if held else None,
            "blocked": blocked is not None,
        }
        status = status_of(
            Seen(
                open_checks=bool(open_checks),
                all_printed=all(f.printed_at is not None for _, f in open_checks),
                party=party is not None,
                finished=bool(finished),
                blocked=blocked is not None,
                held=held is not None,
            )
        )
        if open_checks:  # seated or check_dropped
            open_checks.sort(key=lambda sc: (sc[0].start, sc[1].number))
            first_seg, first = open_checks[0]
            fired = [
                (COURSES.index(f.course), f.courses[f.course]) for _, f in open_checks if f.course
            ]
            course_rank, course_at = max(fired) if fired else (None, None)
            sizes = [f.party_size for _, f in open_checks if f.party_size is not None]
            if status == "check_dropped":
                since = max(f.printed_at or 0 for _, f in open_checks)
            else:
                since = first_seg.start if party is None else min(first_seg.start, party.at)
            return TableState(
                id=tid,
                status=status,
                since=since,
                course=COURSES[course_rank] if course_rank is not None else None,
                course_since=course_at,
                checks=tuple(f.number for _, f in open_checks),
                server=first.server,
                guests=sum(sizes) if sizes else (party.size if party else None),
                party=party,
                **extras,
            )
        if party is not None:  # seated by the host
            return TableState(
                id=tid, status=status, since=party.at, guests=party.size, party=party, **extras
            )
        free_since: int | None
        if status == "bussing":
            free_since = max(s.end or s.start for s in finished)
        elif status == "blocked":
            free_since = blocked[1] if blocked else None
        elif status == "reserved":
            free_since = held[1] if held else None
        else:
            free_since = self.freed_at.get(tid)
        return TableState(id=tid, status=status, since=free_since, **extras)

    def prune(self, before: int, keep: int | None = None) -> int:
        """Forget checks that ended before `before` (epoch ms) and no longer matter to any table,
        and beyond the newest `keep` ended ones, so a box that runs for months (or takes a
        flood) does not carry every check it ever saw. Deterministic: the caller passes a time
        taken from the log, and ties fall by check number."""
        live = set().union(*self.live.values()) if self.live else set()
        ended = sorted(
            (max(c.closed_at or 0, c.voided_at or 0), n)
            for n, c in self.checks.items()
            if n not in live and (c.closed_at is not None or c.voided_at is not None)
        )
        over = max(0, len(ended) - keep) if keep is not None else 0
        gone = [n for i, (end, n) in enumerate(ended) if i < over or end < before]
        for n in gone:
            del self.checks[n]
        return len(gone)

    # ---- snapshots -----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Every fact, in a canonical order: two equal floors give byte-equal JSON."""
        return {
            "checks": {n: c.to_json() for n, c in sorted(self.checks.items())},
            "live": {t: sorted(v) for t, v in sorted(self.live.items())},
            "cleared_at": dict(sorted(self.cleared_at.items())),
            "freed_at": dict(sorted(self.freed_at.items())),
            "parties": {t: p.to_json() for t, p in sorted(self.parties.items())},
            "blocked": {t: list(v) for t, v in sorted(self.blocked.items())},
            "held": {t: list(v) for t, v in sorted(self.held.items())},
        }

    @classmethod
    def from_json(cls, specs: Iterable[TableSpec], raw: Mapping[str, Any]) -> Floor:
        spec_map = {s.id: s for s in specs}
        floor = cls(
            specs=spec_map,
            checks={n: CheckFacts.from_json(c) for n, c in raw["checks"].items()},
            live={t: set(v) for t, v in raw["live"].items() if t in spec_map},
            cleared_at=dict(raw["cleared_at"]),
            freed_at=dict(raw["freed_at"]),
            parties={t: Party(**{k: v for k, v in p.items()}) for t, p in raw["parties"].items()},
            blocked={t: (v[0], v[1]) for t, v in raw["blocked"].items()},
            held={t: (v[0], v[1]) for t, v in raw["held"].items()},
            states={},
        )
        floor.states = {tid: floor.derive(tid) for tid in spec_map}
        return floor
