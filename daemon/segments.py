"""`floorlink segment NAME`: CSV lists of guests for the restaurant's campaigns, from the
profiles (daemon/profiles.py). Thresholds are `[segments]` settings; each segment's rule is in
docs/reports.md#segments. Pure over the profiles and a "today", so the tests pin the answers."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from floorlink.daemon.profiles import Profile

if TYPE_CHECKING:
    from floorlink.daemon.config import Segments

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COLUMNS = ["profile", "name", "phone", "email", "visits", "last_visit", "spend"]


def high_spenders_absent(
    ps: Iterable[Profile], cfg: Segments, today: date, _a: str
) -> list[Profile]:
    floor = int(Decimal(cfg.high_spend) * 100)
    since = (today - timedelta(days=cfg.absent_days)).isoformat()
    return [p for p in ps if p.spend_cents >= floor and p.visits and p.visits[-1].day <= since]


def always_dessert(ps: Iterable[Profile], cfg: Segments, today: date, _a: str) -> list[Profile]:
    return [p for p in ps if len(p.visits) >= cfg.min_visits and all(v.dessert for v in p.visits)]


def weekday_regulars(ps: Iterable[Profile], cfg: Segments, today: date, arg: str) -> list[Profile]:
    if arg not in WEEKDAYS:
        raise ValueError(f"--weekday: expected one of {', '.join(WEEKDAYS)}, got {arg!r}")
    wd = WEEKDAYS.index(arg)
    return [
        p
        for p in ps
        if sum(date.fromisoformat(v.day).weekday() == wd for v in p.visits) >= cfg.min_visits
    ]


def birthdays_this_month(
    ps: Iterable[Profile], cfg: Segments, today: date, _a: str
) -> list[Profile]:
    """Birthdays given as YYYY-MM-DD or MM-DD falling in today's month."""
    out = []
    for p in ps:
        parts = (p.birthday or "").split("-")
        if len(parts) >= 2 and parts[-2].isdigit() and int(parts[-2]) == today.month:
            out.append(p)
    return out


SEGMENTS: dict[str, Callable[[Iterable[Profile], Segments, date, str], list[Profile]]] = {
    "high-spenders-absent": high_spenders_absent,
    "always-dessert": always_dessert,
    "weekday-regulars": weekday_regulars,
    "birthdays": birthdays_this_month,
}


def to_csv(members: Iterable[Profile]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for p in sorted(members, key=lambda p: (-p.spend_cents, p.id)):
        s = p.summary()
        spend = f"{Decimal(p.spend_cents) / 100:.2f}"
        phones, emails = ";".join(sorted(p.phones)), ";".join(sorted(p.emails))
        w.writerow([p.id, p.name or "", phones, emails, s["visits"], s["last_visit"] or "", spend])
    return out.getvalue()
