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
