"""`floorlink report`: a service day (or a range of them) from the closed-checks projection.

The rows are the floor's own view of each ended check (daemon/core/closed_checks.py), written with
the events, so every report agrees with what the floor showed whatever order a check's events came
in; nothing here folds check events. Read-only over the store with sqlite-utils (the same library
gives the IT person `sqlite-utils rows /var/lib/floorlink/floorlink.db closed_checks` for ad-hoc
questions). A store the daemon has not migrated yet is read by folding its log through the same
projection. Money is `Decimal` from the POS's decimal strings, never float. Each figure's
definition is in docs/reports.md.
"""

from __future__ import annotations

import bisect
import csv
import gc
import io
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

import sqlite_utils

from floorlink.daemon.core import events as ev
from floorlink.daemon.core.closed_checks import Row, rows_of
from floorlink.daemon.core.waitlist import accuracy
from floorlink.daemon.store import Store

if TYPE_CHECKING:
    from floorlink.daemon.config import Config

DASH = "—"
CENT = Decimal("0.01")
MINUTE = 60_000
HOUR = 3_600_000


# ---- the service day ----------------------------------------------------------------------


def day_bounds(day: date, tz: ZoneInfo, cutoff: time = time(5)) -> tuple[int, int]:
    """Epoch ms of the service day, cutoff to cutoff local (late closes belong to the night)."""
    start = datetime.combine(day, cutoff, tz)
    end = datetime.combine(day + timedelta(days=1), cutoff, tz)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def service_day_of(ms: int, tz: ZoneInfo, cutoff: time = time(5)) -> date:
    """The service day an instant belongs to: 01:30 after a 05:00 cutoff is the night before."""
    local = datetime.fromtimestamp(ms / 1000, tz)
    return local.date() - timedelta(days=1) if local.time() < cutoff else local.date()


def default_day(now_ms: int, tz: ZoneInfo, cutoff: time = time(5)) -> date:
    """The service day that just ended. Before the cutoff (02:30 after close) that is tonight's,
    which began on yesterday's date; from the cutoff on it is yesterday's: the local date minus
    one either way, for a cutoff at or after midnight (`--day today` asks for the current one)."""
    local = datetime.fromtimestamp(now_ms / 1000, tz)
    return local.date() - timedelta(days=1)


# ---- reading the projection ---------------------------------------------------------------


def range_rows(config: Config, start: int, end: int) -> list[Row]:
    """Projection rows of checks closed or voided in [start, end)."""
    db = sqlite_utils.Database(f"file:{config.store.path}?mode=ro", use_counts_table=False)
    tables = set(db.table_names())
    fresh = "closed_checks" in tables and not (
        "meta" in tables
        and list(db.query("SELECT 1 FROM meta WHERE key = 'closed_checks.rebuild'"))
    )
    if fresh:
        db.close()
        return _projection_rows(config, tables, start, end)
    db.close()
    from floorlink.daemon.floor_admin import seed_tables
    from floorlink.daemon.parts import build_state

    store = Store(config.store.path)
    store.open_readonly()
    try:
        every = rows_of(build_state(config, seed_tables(store)), store.events())
    finally:
        store.close(clean=False)
    return [
        r
        for r in every.values()
        if any(r[k] is not None and start <= r[k] < end for k in ("closed", "voided"))
    ]


#: What the reports read of a projection row: items are left in the store (no report sums
#: them) and of the course fire times only the first and the entrées (the phases), so a year of
#: checks is read without parsing a JSON document per check.
_READ = (
    'c."check", c."table", c.covers, c.server, c.opened, c.first_course, c.printed, c.closed,'
    " c.voided, c.total, c.tip, json_extract(c.courses, '$.entrees')"
)
_READ_KEYS = ("check", "table", "covers", "server", "opened", "first_course", "printed",
              "closed", "voided", "total", "tip", "entrees")  # fmt: skip
_LINKED = (
    ' LEFT JOIN (SELECT "check", min(reservation) AS reservation FROM profile_members'
    ' WHERE "check" IS NOT NULL GROUP BY "check") l ON l."check" = c."check"'
    " LEFT JOIN profile_members m ON m.reservation = l.reservation"
)


def _projection_rows(config: Config, tables: set[str], start: int, end: int) -> list[Row]:
    """The rows of [start, end) straight from SQLite, with the reservation linked to each
    check (one, if several are) when the store keeps them."""
    cols, join = _READ, ""
    keys: tuple[str, ...] = _READ_KEYS
    if "profile_members" in tables:
        cols += ", m.reservation, m.time, m.source, m.profile"
        join = _LINKED
        keys = (*keys, "reservation", "booked", "source", "guest")
    db = sqlite3.connect(f"file:{config.store.path}?mode=ro", uri=True)
    try:
        cur = db.execute(
            f"SELECT {cols} FROM closed_checks c{join} WHERE (c.closed >= ? AND c.closed < ?)"
            " OR (c.voided >= ? AND c.voided < ?)",
            (start, end, start, end),
        )
        return [dict(zip(keys, r, strict=True)) for r in cur]
    finally:
        db.close()


def day_rows(config: Config, start: int, end: int) -> list[Row]:
    """Kept for callers of the one-day reader."""
    return range_rows(config, start, end)


# ---- one paid check, as the reports see it ------------------------------------------------


class Check(NamedTuple):
    """A check paid inside the period (voided checks are counted, never summed). A tuple: a
    year of them is made in one loop (a third of the time of a dataclass's __init__)."""

    number: str
    table: str
    section: str
    server: str | None
    covers: int
    opened: int
    closed: int
    printed: int | None
    courses: dict[str, int]  # every course's fire time (empty when read from the store)
    total: Decimal
    tip: Decimal
    items: list[dict[str, Any]]
    day: date
    reservation: str | None = None  # the reservation linked to the check (none: a walk-in)
    booked: str | None = None  # the reservation's time, RFC 3339
    source: str | None = None  # the reservation's source: online, phone, walk_in
    guest: str | None = None  # the guest's profile id
    first_fired: int | None = None  # the first course fired
    entrees_fired: int | None = None

    @property
    def turn_minutes(self) -> Decimal:
        return Decimal(self.closed - self.opened) / MINUTE


@dataclass
class Period:
    """What a report reads: the paid checks and voids of [first, last] service days."""

    config: Config
    first: date
    last: date
    checks: list[Check]
    voided: int

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.site.timezone)

    @property
    def seats(self) -> int:
        return sum(t.seats for t in self.config.tables)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def period_of(config: Config, first: date, last: date, rows: Iterable[Row]) -> Period:
    tz, cutoff = ZoneInfo(config.site.timezone), config.reports.cutoff
    start, _ = day_bounds(first, tz, cutoff)
    _, end = day_bounds(last, tz, cutoff)
    sections = {t.id: t.section for t in config.tables}
    checks: list[Check] = []
    voided = 0
    day_of = _day_finder(first, last, tz, cutoff)
    for r in rows:
        if r.get("voided") is not None:
            voided += start <= r["voided"] < end
            continue
        if r.get("closed") is None or not start <= r["closed"] < end:
            continue
        checks.append(
            Check(
                number=r["check"],
                table=r["table"],
                section=sections.get(r["table"], "(unknown table)"),
                server=r.get("server"),
                covers=int(r.get("covers") or 0),
                opened=r["opened"],
                closed=r["closed"],
                printed=r.get("printed"),
                courses=r.get("courses") or {},
                total=Decimal(r.get("total") or "0"),
                tip=Decimal(r.get("tip") or "0"),
                items=r.get("items") or [],
                day=day_of(r["closed"]),
                reservation=r.get("reservation"),
                booked=r.get("booked"),
                source=r.get("source"),
                guest=r.get("guest"),
                first_fired=r.get("first_course", _first(r.get("courses"))),
                entrees_fired=r.get("entrees", (r.get("courses") or {}).get("entrees")),
            )
        )
    checks.sort(key=lambda c: (c.closed, c.number))
    return Period(config, first, last, checks, voided)


def _first(courses: Any) -> int | None:
    return min(courses.values()) if courses else None


def _day_finder(first: date, last: date, tz: ZoneInfo, cutoff: time) -> Callable[[int], date]:
    """The service day of an instant in [first, last]: a bisect over the days' starts instead
    of a time-zone conversion per check (outside the period: the conversion)."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    starts = [day_bounds(d, tz, cutoff)[0] for d in days]
    end = day_bounds(last, tz, cutoff)[1]

    def day_of(ms: int) -> date:
        if not starts[0] <= ms < end:
            return service_day_of(ms, tz, cutoff)
        return days[bisect.bisect_right(starts, ms) - 1]

    return day_of


def load_period(config: Config, first: date, last: date) -> Period:
    tz, cutoff = ZoneInfo(config.site.timezone), config.reports.cutoff
    start, _ = day_bounds(first, tz, cutoff)
    _, end = day_bounds(last, tz, cutoff)
    tables = _fresh_tables(config)
    if tables is not None:
        return _paid_period(config, first, last, tables, start, end)
    return period_of(config, first, last, range_rows(config, start, end))


def _fresh_tables(config: Config) -> set[str] | None:
    """The store's tables when its closed-checks projection is built, else None."""
    db = sqlite3.connect(f"file:{config.store.path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "closed_checks" not in tables:
            return None
        if (
            "meta" in tables
            and db.execute("SELECT 1 FROM meta WHERE key = 'closed_checks.rebuild'").fetchone()
        ):
            return None
        return tables
    finally:
        db.close()


def _paid_period(
    config: Config, first: date, last: date, tables: set[str], start: int, end: int
) -> Period:
    """period_of for a built projection, made straight from SQLite's tuples: the paid checks
    closed in [start, end) and the count of voids, as period_of gives from the rows (a year
    of checks in a fraction of a second)."""
    tz, cutoff = ZoneInfo(config.site.timezone), config.reports.cutoff
    sections = {t.id: t.section for t in config.tables}
    day_of = _day_finder(first, last, tz, cutoff)
    none = (None, None, None, None)
    db = sqlite3.connect(f"file:{config.store.path}?mode=ro", uri=True)
    try:
        voided = db.execute(
            "SELECT count(*) FROM closed_checks WHERE voided >= ? AND voided < ?", (start, end)
        ).fetchone()[0]
        links: dict[str, tuple[Any, ...]] = {}
        if "profile_members" in tables:  # check -> its reservation (the least id, if several)
            if last - first > timedelta(days=14):  # most checks: one pass over all the links
                sql = ('SELECT "check", min(reservation), time, source, profile FROM'
                       ' profile_members WHERE "check" IS NOT NULL GROUP BY "check"')  # fmt: skip
                params: tuple[int, ...] = ()
            else:
                sql = ('SELECT m."check", min(m.reservation), m.time, m.source, m.profile'
                       ' FROM profile_members m JOIN closed_checks c ON c."check" = m."check"'
                       ' WHERE c.closed >= ? AND c.closed < ? GROUP BY m."check"')  # fmt: skip
                params = (start, end)
            links = {r[0]: r[1:] for r in db.execute(sql, params)}
        cur = db.execute(
            f"SELECT {_READ.replace(' c.voided,', '')} FROM closed_checks c"
            " WHERE c.closed >= ? AND c.closed < ? AND c.voided IS NULL"
            ' ORDER BY c.closed, c."check"',  # the index's order: no sort in Python
            (start, end),
        )
        checks = []
        zero = Decimal(0)
        collecting = gc.isenabled()
        gc.disable()  # 100,000 new objects, no cycles: no collections while they are made
        for r in cur:
            rid, booked, source, guest = links.get(r[0], none)
            checks.append(
                Check(r[0], r[1], sections.get(r[1], "(unknown table)"), r[3], int(r[2] or 0),
                      r[4], r[7], r[6], {}, Decimal(r[8]) if r[8] else zero,
                      Decimal(r[9]) if r[9] else zero, [], day_of(r[7]),
                      rid, booked, source, guest, r[5], r[10])
            )  # fmt: skip
    finally:
        if collecting:
            gc.enable()
        db.close()
    return Period(config, first, last, checks, voided)


# ---- a report's result: a table with reasons for its blanks -------------------------------

Cell = str | int | Decimal | None


@dataclass
class Table:
    """A report: columns, rows, and for each blank cell's column the reason it is blank."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    why: dict[str, str] = field(default_factory=dict)  # column -> why its blanks are blank

    def to_json(self) -> dict[str, Any]:
        return {
            "report": self.name,
            "title": self.title,
            "columns": self.columns,
            "rows": [[_json_cell(v) for v in row] for row in self.rows],
            "why": self.why,
        }

    def to_csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(self.columns)
        for row in self.rows:
            w.writerow(["" if v is None else _text(v) for v in row])
        return out.getvalue()

    def render(self) -> str:
        """A terminal table; a blank reads "—" and the reasons follow the table."""
        cells = [[DASH if v is None else _text(v) for v in row] for row in self.rows]
        widths = [
            max([len(col), *(len(r[i]) for r in cells)]) for i, col in enumerate(self.columns)
        ]
        lines = [
            self.title,
            "  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True)),
        ]
        lines.append("  ".join("-" * w for w in widths))
        for row, raw in zip(cells, self.rows, strict=True):
            lines.append(
                "  ".join(
                    c.rjust(w) if isinstance(v, int | Decimal) else c.ljust(w)
                    for c, w, v in zip(row, widths, raw, strict=True)
                ).rstrip()
            )
        if not self.rows:
            lines.append(f"{DASH} no rows: {self.why.get('*', 'no paid checks in the period')}")
        blanks = {self.columns[i] for row in self.rows for i, v in enumerate(row) if v is None}
        for col in self.columns:
            if col in blanks and col in self.why:
                lines.append(f"{DASH} {col}: {self.why[col]}")
        return "\n".join(lines)


def _text(v: str | int | Decimal) -> str:
    return f"{v:.2f}" if isinstance(v, Decimal) else str(v)


def _json_cell(v: Cell) -> str | int | None:
    return f"{v:.2f}" if isinstance(v, Decimal) else v


def money(v: Decimal) -> Decimal:
    return v.quantize(CENT, rounding=ROUND_HALF_EVEN)


def ratio(num: Decimal, den: Decimal | int) -> Decimal | None:
    return None if not den else money(num / Decimal(den))


def _revenue(checks: Iterable[Check]) -> Decimal:
    return sum((c.total for c in checks), Decimal(0))


NO_CHECKS = "no paid checks in the period"
NO_COVERS = "no covers recorded on the checks (the POS sent no guest count)"


# ---- the reports --------------------------------------------------------------------------


def summary(p: Period) -> Table:
    """The day in one column: the figures the old `floorlink report` printed."""
    s = summarize_period(p)
    t = Table("summary", _title(p, "service summary"), ["figure", "value", "why blank"])
    for key, value in s["figures"].items():
        t.rows.append([key.replace("_", " "), value, s["why"].get(key, "")])
    return t


def summarize_period(p: Period) -> dict[str, Any]:
    paid = p.checks
    revenue = _revenue(paid)
    covers = sum(c.covers for c in paid)
    hours = _service_hours(paid)
    seats = p.seats
    why: dict[str, str] = {}
    if not paid:
        for k in ("average_check", "average_per_cover", "median_turn_minutes", "revpash"):
            why[k] = NO_CHECKS
    elif not covers:
        why["average_per_cover"] = NO_COVERS
    turns = sorted(c.closed - c.opened for c in paid)  # ms: Decimal only for the one median
    figures: dict[str, Cell] = {
        "checks": len(paid),
        "voided": p.voided,
        "covers": covers,
        "revenue": money(revenue),
        "tips": money(sum((c.tip for c in paid), Decimal(0))),
        "average_check": ratio(revenue, len(paid)),
        "average_per_cover": ratio(revenue, covers),
        "turns_per_table": ratio(Decimal(len(paid)), len(p.config.tables) * p.days),
        "median_turn_minutes": round(Decimal(turns[len(turns) // 2]) / MINUTE) if paid else None,
        "service_hours": money(hours),
        "revpash": ratio(revenue, seats * hours) if paid and seats else None,
    }
    return {"figures": figures, "why": why}


def _service_hours(checks: Sequence[Check]) -> Decimal:
    """Hours from each day's first seating to its last payment (at least one per day served)."""
    by_day: dict[date, list[Check]] = defaultdict(list)
    for c in checks:
        by_day[c.day].append(c)
    total = Decimal(0)
    for day_checks in by_day.values():
        span = max(c.closed for c in day_checks) - min(c.opened for c in day_checks)
        total += max(Decimal(1), Decimal(span) / HOUR)
    return total


def covers_report(p: Period) -> Table:
    t = Table("covers", _title(p, "covers by party size"), ["party size", "checks", "covers"])
    by: dict[int, list[Check]] = defaultdict(list)
    for c in p.checks:
        by[c.covers].append(c)
    for size in sorted(by):
        t.rows.append([size, len(by[size]), sum(c.covers for c in by[size])])
    t.rows.append(["all", len(p.checks), sum(c.covers for c in p.checks)])
    return t


def turns(p: Period) -> Table:
    t = Table(
        "turns",
        _title(p, "turns and turn time by party size"),
        ["party size", "turns", "mean minutes", "median minutes", "turns per table per day"],
    )
    by: dict[int, list[Check]] = defaultdict(list)
    for c in p.checks:
        by[c.covers].append(c)
    tables = len(p.config.tables) * p.days
    for size in sorted(by):
        group = by[size]
        ms = sorted(c.closed - c.opened for c in group)
        t.rows.append(
            [
                size,
                len(group),
                money(Decimal(sum(ms)) / MINUTE / len(ms)),
                money(_median_ms(ms) / MINUTE),
                ratio(Decimal(len(group)), tables),
            ]
        )
    return t


def _median_ms(values: Sequence[int]) -> Decimal:
    n = len(values)
    mid = n // 2
    return Decimal(values[mid]) if n % 2 else Decimal(values[mid - 1] + values[mid]) / 2


def _median(values: Sequence[Decimal]) -> Decimal:
    n = len(values)
    mid = n // 2
    return values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2


PHASES: list[tuple[str, str]] = [
    ("seated", "first course fired"),
    ("first course fired", "entrees fired"),
    ("entrees fired", "check dropped"),
    ("check dropped", "paid"),
    ("paid", "cleared"),
]


def _phase_time(c: Check, phase: str) -> int | None:
    if phase == "seated":
        return c.opened
    if phase == "first course fired":
        return c.first_fired
    if phase == "entrees fired":
        return c.entrees_fired
    if phase == "check dropped":
        return c.printed
    if phase == "paid":
        return c.closed
    return None  # cleared: not in the projection yet


def phases(p: Period) -> Table:
    t = Table(
        "phases",
        _title(p, "turn phases"),
        ["from", "to", "checks", "mean minutes", "median minutes"],
    )
    for a, b in PHASES:
        ms = sorted(
            tb - ta
            for c in p.checks
            if (ta := _phase_time(c, a)) is not None
            and (tb := _phase_time(c, b)) is not None
            and tb >= ta
        )  # integer ms; Decimal only for the mean and the median
        mean = money(Decimal(sum(ms)) / MINUTE / len(ms)) if ms else None
        median = money(_median_ms(ms) / MINUTE) if ms else None
        t.rows.append([a, b, len(ms), mean, median])
    t.why = {
        "mean minutes": "no check in the period has both times (a check that never fired a"
        " course or was never printed is left out of that phase; the table's cleared time is"
        " not in the closed-checks projection yet)",
    }
    t.why["median minutes"] = t.why["mean minutes"]
    return t


def revpash(p: Period) -> Table:
    """Revenue per available seat hour, per local clock hour across the period's days."""
    t = Table(
        "revpash",
        _title(p, "RevPASH per hour (revenue by the hour the party was seated)"),
        ["hour", "checks", "revenue", "revpash"],
    )
    by: dict[int, list[Check]] = defaultdict(list)
    for c in p.checks:
        by[datetime.fromtimestamp(c.opened / 1000, p.tz).hour].append(c)
    cutoff = p.config.reports.cutoff.hour
    for hour in sorted(by, key=lambda h: (h - cutoff) % 24):
        rev = _revenue(by[hour])
        t.rows.append([f"{hour:02d}:00", len(by[hour]), money(rev), ratio(rev, p.seats * p.days)])
    return t


def revpash_days(p: Period) -> Table:
    t = Table(
        "revpash-days",
        _title(p, "RevPASH per service day"),
        ["day", "checks", "revenue", "service hours", "revpash"],
    )
    by: dict[date, list[Check]] = defaultdict(list)
    for c in p.checks:
        by[c.day].append(c)
    for day in sorted(by):
        rev, hours = _revenue(by[day]), _service_hours(by[day])
        t.rows.append([day.isoformat(), len(by[day]), money(rev), money(hours),
                       ratio(rev, p.seats * hours)])  # fmt: skip
    return t


def _by(p: Period, name: str, what: str, key: Callable[[Check], str | None]) -> Table:
    t = Table(
        name,
        _title(p, f"revenue by {what}"),
        [what, "checks", "covers", "revenue", "tips", "per cover", "share %"],
    )
    groups: dict[str, list[Check]] = defaultdict(list)
    for c in p.checks:
        groups[key(c) or "(none)"].append(c)
    whole = _revenue(p.checks)
    for k in sorted(groups):
        g = groups[k]
        rev, covers = _revenue(g), sum(c.covers for c in g)
        t.rows.append([k, len(g), covers, money(rev), money(sum((c.tip for c in g), Decimal(0))),
                       ratio(rev, covers), ratio(rev * 100, whole)])  # fmt: skip
    t.why = {"per cover": NO_COVERS, "share %": "the period's revenue is zero"}
    return t


def by_section(p: Period) -> Table:
    return _by(p, "sections", "section", lambda c: c.section)


def by_server(p: Period) -> Table:
    return _by(p, "servers", "server", lambda c: c.server)


def by_table(p: Period) -> Table:
    return _by(p, "tables", "table", lambda c: c.table)


def per_person(p: Period) -> Table:
    t = Table(
        "per-person",
        _title(p, "spend per person by party size"),
        ["party size", "checks", "covers", "revenue", "per person"],
    )
    by: dict[int, list[Check]] = defaultdict(list)
    for c in p.checks:
        by[c.covers].append(c)
    for size in sorted(by):
        g = by[size]
        rev, covers = _revenue(g), sum(c.covers for c in g)
        t.rows.append([size, len(g), covers, money(rev), ratio(rev, covers)])
    t.why = {"per person": NO_COVERS}
    return t


#: Reservation slots are this many minutes long, from the hour.
SLOT_MINUTES = 30
WALK_IN = "walk-in"


def _slot(c: Check, tz: ZoneInfo) -> str:
    """The reservation slot of a check (local HH:MM, from the hour), or walk-in."""
    if c.reservation is None:
        return WALK_IN
    try:
        at = datetime.fromisoformat(str(c.booked)).astimezone(tz)
    except ValueError:
        return "(no time)"
    minute = at.minute // SLOT_MINUTES * SLOT_MINUTES
    return f"{at.hour:02d}:{minute:02d}"


def slots(p: Period) -> Table:
    """Per-cover revenue by the reservation's time slot; walk-ins (no linked reservation) last."""
    t = Table(
        "slots",
        _title(p, f"per-cover revenue by reservation slot ({SLOT_MINUTES} minutes)"),
        ["slot", "checks", "covers", "revenue", "per cover", "average check"],
    )
    by: dict[str, list[Check]] = defaultdict(list)
    for c in p.checks:
        by[_slot(c, p.tz)].append(c)
    cutoff = p.config.reports.cutoff.hour

    def order(k: str) -> tuple[int, int, str]:
        if not k[:2].isdigit():
            return (1, 0, k)
        return (0, (int(k[:2]) - cutoff) % 24 * 60 + int(k[3:5]), k)

    for k in sorted(by, key=order):
        g = by[k]
        rev, covers = _revenue(g), sum(c.covers for c in g)
        t.rows.append([k, len(g), covers, money(rev), ratio(rev, covers), ratio(rev, len(g))])
    t.why = {"per cover": NO_COVERS}
    return t


def sources(p: Period) -> Table:
    """Average spend by where the guest came from: the linked reservation's source (online,
    phone, walk_in as booked), and walk-in for checks no reservation is linked to."""
    t = Table(
        "sources",
        _title(p, "average spend by source (online, phone, walk-in)"),
        ["source", "checks", "covers", "revenue", "average check", "per cover", "share %"],
    )
    by: dict[str, list[Check]] = defaultdict(list)
    for c in p.checks:
        src = WALK_IN if c.reservation is None else (c.source or "(unknown)")
        by[WALK_IN if src == "walk_in" else src].append(c)
    whole = _revenue(p.checks)
    for k in sorted(by, key=lambda k: (k == WALK_IN, k)):
        g = by[k]
        rev, covers = _revenue(g), sum(c.covers for c in g)
        t.rows.append([k, len(g), covers, money(rev), ratio(rev, len(g)), ratio(rev, covers),
                       ratio(rev * 100, whole)])  # fmt: skip
    t.why = {"per cover": NO_COVERS, "share %": "the period's revenue is zero"}
    return t


#: Guests listed by the lifetime report.
LIFETIME_TOP = 100


def lifetime_rows(config: Config, end: int) -> list[tuple[str, int, str | None, str]]:
    """(guest, closed, total, check) of every paid check linked to a guest's reservation and
    closed before `end`: each check once per guest."""
    db = sqlite3.connect(f"file:{config.store.path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"profile_members", "profiles", "closed_checks"} <= tables:
            return []
        rows = db.execute(  # the links in one pass, each check by its key (CROSS JOIN: in order)
            'SELECT m.profile, c.closed, c.total, c."check"'
            ' FROM profile_members m CROSS JOIN closed_checks c ON c."check" = m."check"'
            " WHERE m.profile IS NOT NULL AND c.closed < ? AND c.voided IS NULL",
            (end,),
        ).fetchall()
        seen: set[tuple[str, str]] = set()
        out = []
        for r in rows:  # two reservations of one guest linked to one check: counted once
            if (r[0], r[3]) not in seen:
                seen.add((r[0], r[3]))
                out.append(r)
        return out
    finally:
        db.close()


def _names(config: Config, ids: list[str]) -> dict[str, str | None]:
    db = sqlite3.connect(f"file:{config.store.path}?mode=ro", uri=True)
    try:
        q = ",".join("?" * len(ids))
        return dict(db.execute(f"SELECT id, name FROM profiles WHERE id IN ({q})", ids).fetchall())
    finally:
        db.close()


def lifetime(p: Period) -> Table:
    """Guests who came in the period, ranked by what they have spent in all their visits up to
    the period's end (their lifetime value so far)."""
    t = Table(
        "lifetime",
        _title(p, f"guests by lifetime value (the top {LIFETIME_TOP} who came in the period)"),
        ["rank", "guest", "name", "visits", "first visit", "last visit", "lifetime spend",
         "average check", "in period"],
    )  # fmt: skip
    t.why["*"] = "no paid check in the period is linked to a guest's reservation"
    came: dict[str, Decimal] = defaultdict(Decimal)
    for c in p.checks:
        if c.guest is not None:
            came[c.guest] += c.total
    _, end = day_bounds(p.last, p.tz, p.config.reports.cutoff)
    cutoff = p.config.reports.cutoff
    visits: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
    for guest, closed, total, _check in lifetime_rows(p.config, end):
        if guest in came:
            visits[guest].append((closed, Decimal(total or "0")))
    spent = {g: sum((v for _, v in vs), Decimal(0)) for g, vs in visits.items()}
    ranked = sorted(spent, key=lambda g: (-spent[g], g))[:LIFETIME_TOP]
    names = _names(p.config, ranked)
    for n, g in enumerate(ranked, start=1):
        vs = visits[g]
        spend = spent[g]
        first = service_day_of(min(at for at, _ in vs), p.tz, cutoff).isoformat()
        last = service_day_of(max(at for at, _ in vs), p.tz, cutoff).isoformat()
        t.rows.append([n, g, names.get(g), len(vs), first, last, money(spend),
                       ratio(spend, len(vs)), money(came[g])])  # fmt: skip
    return t


def flow(p: Period) -> Table:
    """Covers seated per 15 minutes (local clock), summed over the period's days."""
    t = Table("flow", _title(p, "cover flow per 15 minutes"), ["from", "checks", "covers"])
    by: dict[tuple[int, int], list[Check]] = defaultdict(list)
    for c in p.checks:
        at = datetime.fromtimestamp(c.opened / 1000, p.tz)
        by[(at.hour, at.minute // 15 * 15)].append(c)
    cutoff = p.config.reports.cutoff.hour
    for hour, minute in sorted(by, key=lambda k: ((k[0] - cutoff) % 24, k[1])):
        g = by[(hour, minute)]
        t.rows.append([f"{hour:02d}:{minute:02d}", len(g), sum(c.covers for c in g)])
    return t


def accounting(p: Period) -> Table:
    """The bookkeeper's export: per service day, revenue and tips per table, section, server."""
    t = Table(
        "accounting",
        _title(p, "accounting export"),
        ["day", "kind", "key", "checks", "covers", "revenue", "tips"],
    )
    keys: list[tuple[str, Callable[[Check], str | None]]] = [
        ("table", lambda c: c.table),
        ("section", lambda c: c.section),
        ("server", lambda c: c.server),
    ]
    by_day: dict[date, list[Check]] = defaultdict(list)
    for c in p.checks:
        by_day[c.day].append(c)
    for day in sorted(by_day):
        for kind, key in keys:
            groups: dict[str, list[Check]] = defaultdict(list)
            for c in by_day[day]:
                groups[key(c) or "(none)"].append(c)
            for k in sorted(groups):
                g = groups[k]
                tips = money(sum((c.tip for c in g), Decimal(0)))
                covers = sum(c.covers for c in g)
                t.rows.append([day.isoformat(), kind, k, len(g), covers, money(_revenue(g)), tips])
    return t


# ---- quotes: the waitlist's promise against the wait ---------------------------------------


def quote_outcomes(config: Config, start: int, end: int) -> list[tuple[int, int, int, float]]:
    """(added at, party size, quoted minutes, minutes from added to seated) of every party added
    in [start, end) and seated, from the log's `waitlist.added` and `waitlist.seated` events."""
    db = sqlite3.connect(f"file:{config.store.path}?mode=ro", uri=True)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'events'").fetchone():
            return []
        rows = db.execute(
            "SELECT type, at, json_extract(data, '$.entry'), json_extract(data, '$.party_size'),"
            " json_extract(data, '$.quoted_minutes') FROM events"
            " WHERE type IN (?, ?) AND at >= ? AND at < ? ORDER BY seq",
            # a party added late is seated after the day's end
            (ev.WaitlistAdded.TYPE, ev.WaitlistSeated.TYPE, start, end + 86_400_000),
        )
        added: dict[str, tuple[int, int, int]] = {}
        out = []
        for etype, at, entry, size, quoted in rows:
            entry = str(entry)
            if etype == ev.WaitlistAdded.TYPE and start <= at < end:
                added[entry] = (at, int(size), int(quoted))
            elif etype == ev.WaitlistSeated.TYPE and entry in added:
                first, size, quoted = added.pop(entry)
                out.append((first, size, quoted, (at - first) / MINUTE))
        return out
    finally:
        db.close()


def quotes_report(p: Period) -> Table:
    """Quote accuracy per service day and party size: MAE, bias (quote - actual) and the share
    within 3 minutes. A quote is a promise about being seated: the actual is added to seated."""
    t = Table(
        "quotes",
        _title(p, "wait quotes against the wait to be seated"),
        ["service day", "party size", "parties", "MAE min", "bias min", "within 3 min %"],
    )
    t.why["*"] = "no party was seated from the waitlist in the period"
    start, _ = day_bounds(p.first, p.tz, p.config.reports.cutoff)
    _, end = day_bounds(p.last, p.tz, p.config.reports.cutoff)
    outcomes = quote_outcomes(p.config, start, end)

    def row(day: str, size: str, pairs: list[tuple[int, float]]) -> list[Cell]:
        a = accuracy(pairs)
        return [
            day,
            size,
            a["quotes"],
            Decimal(str(a["mae_minutes"])).quantize(CENT),
            Decimal(str(a["bias_minutes"])).quantize(CENT),
            (Decimal(str(a["within_3_min"])) * 100).quantize(Decimal("0.1")),
        ]

    by_day: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
    for at, size, quoted, waited in outcomes:
        day = service_day_of(at, p.tz, p.config.reports.cutoff).isoformat()
        by_day[day].append((size, quoted, waited))
    for day in sorted(by_day):
        got = by_day[day]
        for size in sorted({s for s, _, _ in got}):
            t.rows.append(row(day, str(size), [(q, w) for s, q, w in got if s == size]))
        t.rows.append(row(day, "all", [(q, w) for _, q, w in got]))
    if len(by_day) > 1:
        for size in sorted({s for _, s, _, _ in outcomes}):
            pairs = [(q, w) for _, s, q, w in outcomes if s == size]
            t.rows.append(row("all", str(size), pairs))
        t.rows.append(row("all", "all", [(q, w) for _, _, q, w in outcomes]))
    return t


def _title(p: Period, what: str) -> str:
    span = p.first.isoformat() if p.first == p.last else f"{p.first} to {p.last}"
    return f"{p.config.site.id}: {what}, service day {span}"


REPORTS: dict[str, Callable[[Period], Table]] = {
    "summary": summary,
    "covers": covers_report,
    "turns": turns,
    "phases": phases,
    "revpash": revpash,
    "revpash-days": revpash_days,
    "sections": by_section,
    "servers": by_server,
    "tables": by_table,
    "per-person": per_person,
    "slots": slots,
    "sources": sources,
    "lifetime": lifetime,
    "flow": flow,
    "accounting": accounting,
    "quotes": quotes_report,
}


def report_json(config: Config, name: str, first: date, last: date | None = None) -> dict[str, Any]:
    """A named report over [first, last] service days as JSON, for the page's charts (the HTTP
    layer's `GET /api/v1/reports/{name}`). KeyError for an unknown name."""
    return REPORTS[name](load_period(config, first, last or first)).to_json()


# ---- the old one-day dictionary (the API and older callers) -------------------------------


def service_report(config: Config, day: date) -> dict[str, Any]:
    tz, cutoff = ZoneInfo(config.site.timezone), config.reports.cutoff
    start, end = day_bounds(day, tz, cutoff)
    return summarize(config, day, range_rows(config, start, end))


def summarize(config: Config, day: date, rows: Iterable[Row]) -> dict[str, Any]:
    """The day's figures from its projection rows (pure: the property tests call it directly).
    A figure that cannot be computed is null, and `why` says why."""
    p = period_of(config, day, day, rows)
    s = summarize_period(p)
    f = s["figures"]
    by_table: dict[str, int] = defaultdict(int)
    for c in p.checks:
        by_table[c.table] += 1
    return {
        "site": config.site.id,
        "day": day.isoformat(),
        "checks": f["checks"],
        "voided": f["voided"],
        "covers": f["covers"],
        "revenue": _json_cell(f["revenue"]),
        "tips": _json_cell(f["tips"]),
        "average_check": _json_cell(f["average_check"]),
        "average_per_cover": _json_cell(f["average_per_cover"]),
        "turns_per_table": float(f["turns_per_table"] or 0),
        "median_turn_minutes": f["median_turn_minutes"],
        "service_hours": float(f["service_hours"]),
        "revpash": _json_cell(f["revpash"]),
        "checks_by_table": dict(sorted(by_table.items())),
        "why": s["why"],
    }


def render(report: dict[str, Any]) -> str:
    """The one-day dictionary as text: a blank reads "—" with its reason, never "None"."""
    lines = [f"{report['site']} on {report['day']}"]
    why = report.get("why", {})
    for key in (
        "checks", "voided", "covers", "revenue", "tips", "average_check", "average_per_cover",
        "turns_per_table", "median_turn_minutes", "service_hours", "revpash",
    ):  # fmt: skip
        value = report.get(key)
        text = f"{DASH} ({why.get(key, 'not computed')})" if value is None else str(value)
        lines.append(f"  {key.replace('_', ' '):<22}{text}")
    return "\n".join(lines)
