"""A generated month of service (deterministic seed) and the answers each report must give,
computed here from the generator's own records, not by the report code.

Seven tables in three sections, three servers, two seatings a night plus a late table that pays
after midnight (it belongs to the night before), the occasional void, course fire times, a
night the clocks go back (America/New_York, 2026-11-01). Projection rows are what the floor
writes for each ended check (daemon/core/closed_checks.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from floorlink.daemon.config import Config, parse_config

TZ = ZoneInfo("America/New_York")
FIRST = date(2026, 11, 1)
DAYS = 30
SEED = 15
TABLES = [("1", 4, "main"), ("2", 4, "main"), ("3", 4, "main"), ("4", 6, "main"),
          ("5", 2, "patio"), ("6", 2, "patio"), ("7", 2, "bar")]  # fmt: skip
SERVERS = ["ana", "ben", "cy"]
MIN = 60_000


def config_text(path: Path, day_starts: str = "04:00") -> str:
    tables = "".join(
        f'[[tables]]\nid = "{t}"\nseats = {s}\nsection = "{sec}"\n' for t, s, sec in TABLES
    )
    return (
        f'[site]\nid = "s"\ntimezone = "America/New_York"\n[store]\npath = "{path}"\n'
        f'[http]\nstaff_token = "long-enough-token"\n[reports]\nday_starts = "{day_starts}"\n'
        + tables
    )


def config_for(path: Path, day_starts: str = "04:00") -> Config:
    return parse_config(config_text(path, day_starts), {})


@dataclass(frozen=True)
class Visit:
    """One ended check as the generator made it."""

    check: str
    day: date  # the service day the generator put it in
    table: str
    section: str
    server: str
    covers: int
    opened: int
    apps: int | None
    entrees: int | None
    printed: int | None
    closed: int
    cents: int
    tip_cents: int
    void: bool

    def row(self, seq: int) -> dict[str, Any]:
        courses = {k: v for k, v in (("apps", self.apps), ("entrees", self.entrees)) if v}
        return {
            "check": self.check,
            "table": self.table,
            "covers": self.covers,
            "server": self.server,
            "opened": self.opened,
            "first_course": min(courses.values()) if courses else None,
            "printed": self.printed,
            "closed": None if self.void else self.closed,
            "voided": self.closed if self.void else None,
            "total": None if self.void else f"{self.cents // 100}.{self.cents % 100:02d}",
            "tip": None if self.void else f"{self.tip_cents // 100}.{self.tip_cents % 100:02d}",
            "items": [],
            "seq": seq,
            "courses": courses,
        }


def _ms(day: date, hour: int, minute: int) -> int:
    local = datetime(day.year, day.month, day.day, tzinfo=TZ) + timedelta(
        hours=hour, minutes=minute
    )  # hour may pass 24: the late table pays after midnight
    naive = datetime(local.year, local.month, local.day, local.hour, local.minute, tzinfo=TZ)
    return int(naive.timestamp() * 1000)


def month() -> list[Visit]:
    rnd = random.Random(SEED)
    visits: list[Visit] = []
    n = 0
    for d in range(DAYS):
        day = FIRST + timedelta(days=d)
        for table, seats, section in TABLES:
            starts = [(18, rnd.randrange(0, 45, 5)), (20, 30 + rnd.randrange(0, 30, 5))]
            if table == "7":
                starts.append((23, 15))  # the bar's late party pays after midnight
            for hour, minute in starts:
                n += 1
                covers = rnd.randint(1, seats)
                stay = rnd.randrange(50, 120, 5)
                opened = _ms(day, hour, minute)
                closed = _ms(day, hour, minute + stay)
                apps = opened + 10 * MIN if rnd.random() < 0.7 else None
                entrees = opened + 25 * MIN if rnd.random() < 0.9 else None
                visits.append(
                    Visit(
                        check=f"C{n:05d}",
                        day=day,
                        table=table,
                        section=section,
                        server=SERVERS[(int(table) + d) % 3],
                        covers=covers,
                        opened=opened,
                        apps=apps,
                        entrees=entrees,
                        printed=closed - 8 * MIN,
                        closed=closed,
                        cents=covers * rnd.randrange(1800, 6500, 5),
                        tip_cents=rnd.randrange(0, 2000, 25),
                        void=rnd.random() < 0.03,
                    )
                )
    return visits


def cents(d: Decimal | str) -> int:
    return int(Decimal(d) * 100)


SOURCES = [("online", 50), ("phone", 35), ("walk_in", 15)]
GUESTS = 40


@dataclass(frozen=True)
class Booking:
    """The reservation linked to a check of the month (six in ten are booked)."""

    reservation: str
    check: str
    time: str  # RFC 3339, local offset
    slot: str  # HH:MM, 30-minute slot of `time`
    source: str
    guest: int  # which of the GUESTS

    @property
    def phone(self) -> str:
        return f"+1 312 555 01{self.guest:02d}"

    def doc(self, covers: int) -> dict[str, Any]:
        return {"id": self.reservation, "status": "completed", "time": self.time,
                "party_size": covers, "source": self.source,
                "guest": {"name": f"Guest {self.guest}", "phone": self.phone}}  # fmt: skip


def bookings(visits: list[Visit]) -> dict[str, Booking]:
    """check -> its booking, from a generator of its own (the month's figures stay put)."""
    rnd = random.Random(SEED + 1)
    out = {}
    for v in visits:
        if rnd.random() >= 0.6:
            continue
        at = datetime.fromtimestamp(v.opened / 1000, TZ) - timedelta(minutes=5 * rnd.randrange(4))
        source = rnd.choices([s for s, _ in SOURCES], [w for _, w in SOURCES])[0]
        slot = f"{at.hour:02d}:{at.minute // 30 * 30:02d}"
        out[v.check] = Booking(f"R{v.check}", v.check, at.isoformat(), slot, source,
                               rnd.randrange(GUESTS))  # fmt: skip
    return out


def write_bookings(db: Any, visits: list[Visit], booked: dict[str, Booking]) -> None:
    """The reservations and their links as the daemon keeps them (profile_members), and the
    profiles built from them (daemon/profiles.py), inside the caller's transaction."""
    from floorlink.daemon.profiles import LiveProfiles, _member

    covers = {v.check: v.covers for v in visits}
    for b in booked.values():
        db.execute(
            'INSERT INTO profile_members (reservation, phone, email, name, "check", time,'
            " source, data) VALUES (?,?,?,?,?,?,?,?)",
            _member(b.reservation, b.doc(covers[b.check]), b.check, "US"),
        )
    LiveProfiles("US", TZ).refresh(db, [b.reservation for b in booked.values()])


@dataclass(frozen=True)
class Wait:
    """A walk-in party that waited for its table: added to the waitlist with a quote, seated
    when its check opened."""

    entry: str
    day: date
    size: int
    added: int
    seated: int
    quoted: int  # minutes
    waited: int  # minutes


def waits(visits: list[Visit], booked: dict[str, Booking]) -> list[Wait]:
    rnd = random.Random(SEED + 2)
    out = []
    for v in visits:
        if v.check in booked or rnd.random() >= 0.4:
            continue
        quoted = rnd.randrange(5, 45, 5)
        waited = max(0, quoted + rnd.randrange(-12, 13))
        out.append(Wait(f"W{v.check}", v.day, v.covers, v.opened - waited * MIN, v.opened,
                        quoted, waited))  # fmt: skip
    return out


def write_waits(db: Any, waits: list[Wait]) -> None:
    """Their `waitlist.added` and `waitlist.seated` events, as the log holds them."""
    import json

    rows = []
    for w in waits:
        rows.append(
            (
                "host",
                f"a{w.entry}",
                "waitlist.added",
                w.added,
                {"entry": w.entry, "party_size": w.size, "quoted_minutes": w.quoted},
            )
        )
        rows.append(("host", f"s{w.entry}", "waitlist.seated", w.seated, {"entry": w.entry}))
    rows.sort(key=lambda r: (r[3], r[1]))
    db.executemany(
        "INSERT INTO events (seq, source, eid, type, at, data, received) VALUES (?,?,?,?,?,?,?)",
        [(n, s, e, t, at, json.dumps(d), at) for n, (s, e, t, at, d) in enumerate(rows, 1)],
    )  # fmt: skip
