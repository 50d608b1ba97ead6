"""`floorlink report`: a day's service from the closed-checks projection: covers, turns, revenue,
RevPASH.

The rows are the floor's own view of each ended check (daemon/closed_checks.py), written with the
events, so the report agrees with what the floor showed whatever order a check's events came in.
Read-only over the store with sqlite-utils (the same library gives the IT person
`sqlite-utils rows /var/lib/floorlink/floorlink.db closed_checks` for ad-hoc questions). A store
the daemon has not migrated yet is read by folding its log through the same projection.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlite_utils

from floorlink.daemon.closed_checks import Row, rows_of
from floorlink.daemon.store import CHECK_COLUMNS, Store

if TYPE_CHECKING:
    from floorlink.daemon.config import Config


def day_bounds(day: date, tz: ZoneInfo) -> tuple[int, int]:
    """Epoch ms of the service day, 05:00 to 05:00 local (late closes belong to the night)."""
    start = datetime.combine(day, time(5), tz)
    end = start + timedelta(days=1)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def day_rows(config: Config, start: int, end: int) -> list[Row]:
    """Projection rows of checks closed or voided in [start, end)."""
    db = sqlite_utils.Database(f"file:{config.store.path}?mode=ro", use_counts_table=False)
    tables = set(db.table_names())
    fresh = "closed_checks" in tables and not (
        "meta" in tables
        and list(db.query("SELECT 1 FROM meta WHERE key = 'closed_checks.rebuild'"))
    )
    if fresh:
        cols = ", ".join(f'"{c}"' for c in CHECK_COLUMNS)
        rows = list(
            db.query(
                f"SELECT {cols} FROM closed_checks WHERE (closed >= ? AND closed < ?)"
                " OR (voided >= ? AND voided < ?)",
                [start, end, start, end],
            )
        )
        db.close()
        return rows
    db.close()
    from floorlink.daemon.app import build_state

    store = Store(config.store.path)
    store.open_readonly()
    try:
        every = rows_of(build_state(config), store.events())
    finally:
        store.close(clean=False)
    return [
        r
        for r in every.values()
        if any(r[k] is not None and start <= r[k] < end for k in ("closed", "voided"))
    ]


def service_report(config: Config, day: date) -> dict[str, Any]:
    start, end = day_bounds(day, ZoneInfo(config.site.timezone))
    return summarize(config, day, day_rows(config, start, end))


def summarize(config: Config, day: date, rows: Iterable[Row]) -> dict[str, Any]:
    """The day's figures from its projection rows (pure: the property tests call it directly)."""
    start, end = day_bounds(day, ZoneInfo(config.site.timezone))
    checks: dict[str, dict[str, Any]] = {}
    for row in rows:
        c: dict[str, Any] = {"opened": row["opened"], "table": row["table"]}
        c["guests"] = row["covers"]
        if row["voided"] is not None:
            c["voided"] = start <= row["voided"] < end
            c["void"] = True
        if row["closed"] is not None and start <= row["closed"] < end:
            c["closed"] = row["closed"]
            c["total"] = Decimal(row["total"] or "0")
            c["tip"] = Decimal(row["tip"] or "0")
        checks[row["check"]] = c
    paid = [c for c in checks.values() if "closed" in c and not c.get("void")]
    seats = sum(t.seats for t in config.tables)
    revenue = sum((c["total"] for c in paid), Decimal(0))
    covers = sum(int(c.get("guests") or 0) for c in paid)
    if paid:
        first = min(c["opened"] for c in paid)
        last = max(c["closed"] for c in paid)
        hours = max(1.0, (last - first) / 3_600_000)
    else:
        hours = 0.0
    turn_minutes = sorted((c["closed"] - c["opened"]) / 60_000 for c in paid)
    by_table: dict[str, int] = defaultdict(int)
    for c in paid:
        by_table[c["table"]] += 1
    return {
        "site": config.site.id,
        "day": day.isoformat(),
        "checks": len(paid),
        "voided": sum(1 for c in checks.values() if c.get("voided")),
        "covers": covers,
        "revenue": f"{revenue:.2f}",
        "tips": f"{sum((c['tip'] for c in paid), Decimal(0)):.2f}",
        "average_check": f"{revenue / len(paid):.2f}" if paid else None,
        "turns_per_table": round(len(paid) / len(config.tables), 2) if config.tables else 0,
        "median_turn_minutes": round(turn_minutes[len(turn_minutes) // 2]) if paid else None,
        "service_hours": round(hours, 2),
        "revpash": f"{revenue / Decimal(seats * hours):.2f}" if paid and seats else None,
        "checks_by_table": dict(sorted(by_table.items())),
    }


def render(report: dict[str, Any]) -> str:
    lines = [f"{report['site']} on {report['day']}"]
    for key in (
        "checks", "voided", "covers", "revenue", "tips", "average_check", "turns_per_table",
        "median_turn_minutes", "service_hours", "revpash",
    ):  # fmt: skip
        lines.append(f"  {key.replace('_', ' '):<22}{report[key]}")
    return "\n".join(lines)
