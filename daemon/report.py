"""`floorlink report`: a day's service from the event log: covers, turns, revenue, RevPASH.

Read-only over the store with sqlite-utils (the same library gives the IT person
`sqlite-utils rows /var/lib/floorlink/floorlink.db events` for ad-hoc questions). The log is the
source: a report can be rebuilt for any past day, and it agrees with what the floor showed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlite_utils

if TYPE_CHECKING:
    from floorlink.daemon.config import Config


def day_bounds(day: date, tz: ZoneInfo) -> tuple[int, int]:
    """Epoch ms of the service day, 05:00 to 05:00 local (late closes belong to the night)."""
    start = datetime.combine(day, time(5), tz)
    end = start + timedelta(days=1)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def service_report(config: Config, day: date) -> dict[str, Any]:
    tz = ZoneInfo(config.site.timezone)
    start, end = day_bounds(day, tz)
    db = sqlite_utils.Database(f"file:{config.store.path}?mode=ro", use_counts_table=False)
    rows = db.query(
        "SELECT type, at, data FROM events WHERE at >= ? AND at < ? AND type IN"
        " ('check.opened', 'check.updated', 'check.closed', 'check.voided', 'check.transferred')"
        " ORDER BY seq",
        [start, end],
    )
    checks: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in rows:
        data = json.loads(row["data"])
        c = checks[data["check"]]
        if row["type"] == "check.opened":
            c.setdefault("opened", row["at"])
            c.setdefault("table", data["table"])
            c.setdefault("guests", data.get("guests"))
        elif row["type"] == "check.updated" and data.get("guests"):
            c["guests"] = data["guests"]
        elif row["type"] == "check.transferred":
            c["table"] = data["table"]
        elif row["type"] == "check.closed":
            c["closed"] = row["at"]
            c["total"] = Decimal(data.get("total") or "0")
            c["tip"] = Decimal(data.get("tip") or "0")
        else:
            c["voided"] = True
    paid = [c for c in checks.values() if "closed" in c and "opened" in c and not c.get("voided")]
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
