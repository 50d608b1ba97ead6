"""Reports over a year of history and the guest lookup on seating.

A deterministic year of service (~100,000 paid checks with items, six in ten booked by one of
20,000 returning guests, a waitlist of walk-ins) is written into a fresh store the way the
daemon keeps it: the closed-checks projection, `profile_members` and the profiles built from
them, the waitlist's events. Then each named report (`floorlink report NAME`) is timed over the
whole year, from reading the store to the finished table (targets: under 1 s each), the lookup
on seating (`profiles.lookup`, by phone or email, target under 5 ms), and the live profile
update the engine runs when a check closes. Self-contained: `run() -> dict`, hooked into
bench/run.py like the other modules; `python bench/reports.py` runs it alone.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from floorlink.daemon import profiles
from floorlink.daemon.config import Config, parse_config
from floorlink.daemon.report import REPORTS, load_period
from floorlink.daemon.store import Store

TZ = ZoneInfo("America/New_York")
FIRST = date(2025, 11, 1)
DAYS = 365
CHECKS_PER_DAY = 275  # ~100,000 in the year
TABLES = 40
GUESTS = 20_000
SEED = 15
MIN = 60_000
MENU = [("burger", "18.00", "entrees"), ("ribeye", "48.00", "entrees"), ("salmon", "29.00",
        "entrees"), ("salad", "12.00", "apps"), ("soup", "9.00", "apps"), ("fries", "6.00",
        "apps"), ("tart", "11.00", "dessert"), ("sundae", "9.50", "dessert"), ("wine", "14.00",
        "apps"), ("beer", "7.00", "apps")]  # fmt: skip
SOURCES = ["online", "phone", "walk_in"]


def config_for(path: Path) -> Config:
    sections = ("main", "patio", "bar")
    tables = "".join(
        f'[[tables]]\nid = "{t}"\nseats = {2 + t % 3 * 2}\nsection = "{sections[t % 3]}"\n'
        for t in range(1, TABLES + 1)
    )
    text = (
        f'[site]\nid = "bench"\ntimezone = "America/New_York"\ncountry = "US"\n'
        f'[store]\npath = "{path}"\n[http]\nstaff_token = "long-enough-token"\n' + tables
    )
    return parse_config(text, {})


def _ms(day: date, minutes: int) -> int:
    return int((datetime(day.year, day.month, day.day, tzinfo=TZ) + timedelta(minutes=minutes))
               .timestamp() * 1000)  # fmt: skip


def _phone(g: int) -> str:
    return f"+1 312 55{g // 10000} {g % 10000:04d}"


def year(store: Store) -> dict[str, Any]:
    """Write the year; returns what the lookups and the live update need."""
    rnd = random.Random(SEED)
    rows: list[dict[str, Any]] = []
    members: list[tuple[Any, ...]] = []
    reservations: dict[str, dict[str, Any]] = {}
    links: dict[str, dict[str, Any]] = {}
    events: list[tuple[int, str, dict[str, Any]]] = []
    n = seq = 0
    for d in range(DAYS):
        day = FIRST + timedelta(days=d)
        for _ in range(CHECKS_PER_DAY):
            n += 1
            check = f"C{n:06d}"
            table = str(rnd.randrange(1, TABLES + 1))
            covers = rnd.randint(1, 6)
            opened = _ms(day, 17 * 60 + rnd.randrange(0, 330))
            stay = rnd.randrange(40, 130)
            closed = opened + stay * MIN
            items = []
            cents = 0
            for k in range(rnd.randint(3, 8)):
                name, price, course = MENU[rnd.randrange(len(MENU))]
                qty = rnd.randint(1, 2)
                items.append({"name": name, "qty": qty, "price": price, "course": course,
                              "line": k})  # fmt: skip
                cents += int(price.replace(".", "")) * qty
            void = rnd.random() < 0.01
            seq += 1
            rows.append({
                "check": check, "table": table, "covers": covers, "server": f"s{rnd.randrange(12)}",
                "opened": opened, "first_course": opened + 8 * MIN, "printed": closed - 8 * MIN,
                "closed": None if void else closed, "voided": closed if void else None,
                "total": None if void else f"{cents // 100}.{cents % 100:02d}",
                "tip": None if void else f"{cents // 500}.00", "items": items, "seq": seq,
                "courses": {"apps": opened + 8 * MIN, "entrees": opened + 25 * MIN},
            })  # fmt: skip
            if rnd.random() < 0.6:
                rid = f"R{n:06d}"
                g = rnd.randrange(GUESTS)
                booked = datetime.fromtimestamp(opened / 1000, TZ) - timedelta(minutes=5)
                doc = {"id": rid, "status": "completed", "time": booked.isoformat(),
                       "party_size": covers, "source": SOURCES[rnd.randrange(3)],
                       "guest": {"name": f"Guest {g}", "phone": _phone(g),
                                 "email": f"guest{g}@example.com"}}  # fmt: skip
                reservations[rid] = doc
                links[rid] = {"check": check}
                members.append(profiles._member(rid, doc, check, "US"))
            elif rnd.random() < 0.3:
                wait = rnd.randrange(0, 40)
                entry = f"W{n}"
                events.append(
                    (
                        opened - wait * MIN,
                        "waitlist.added",
                        {
                            "entry": entry,
                            "party_size": covers,
                            "quoted_minutes": rnd.randrange(5, 40, 5),
                        },
                    )
                )
                events.append((opened, "waitlist.seated", {"entry": entry}))  # fmt: skip
    events.sort(key=lambda e: e[0])
    store.begin()
    store.write_closed_checks(rows)
    store.db.executemany(
        'INSERT INTO profile_members (reservation, phone, email, name, "check", time, source,'
        " data) VALUES (?,?,?,?,?,?,?,?)",
        members,
    )
    store.db.executemany(
        "INSERT INTO events (seq, source, eid, type, at, data, received) VALUES (?,?,?,?,?,?,?)",
        [(i, "host", f"e{i}", t, at, json.dumps(d), at) for i, (at, t, d) in enumerate(events, 1)],
    )
    checks = {r["check"]: r for r in rows}
    built = profiles.build_profiles(reservations, links, checks, "US", TZ)
    profiles.write_profiles(store.db, built)
    store.commit()
    return {"checks": len(rows), "paid": sum(r["closed"] is not None for r in rows),
            "reservations": len(reservations), "profiles": len(built),
            "waitlist_parties": len(events) // 2}  # fmt: skip


def _stats(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))], 3),
        "max_ms": round(ordered[-1], 3),
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = config_for(Path(tmp) / "f.db")
        store = Store(config.store.path)
        store.open()
        t0 = time.perf_counter()
        made = year(store)
        made["written_s"] = round(time.perf_counter() - t0, 1)
        last = FIRST + timedelta(days=DAYS - 1)
        reports: dict[str, float] = {}
        cpu: dict[str, float] = {}
        for name, fn in REPORTS.items():  # as `floorlink report NAME --since --until --json`
            t, c = time.perf_counter(), time.process_time()
            fn(load_period(config, FIRST, last)).to_json()
            reports[name] = round(time.perf_counter() - t, 3)
            cpu[name] = round(time.process_time() - c, 3)
        # the lookup on seating: a returning guest's phone as typed, or an email
        rnd = random.Random(SEED + 1)
        lookups, lookup_cpu = [], []
        for i in range(2000):
            g = rnd.randrange(GUESTS)
            phone = f"(312) 55{g // 10000}-{g % 10000:04d}" if i % 2 else None
            email = None if i % 2 else f"GUEST{g}@example.com"
            t, c = time.perf_counter(), time.process_time()
            profiles.lookup(store.db, phone, email, "US")
            lookups.append((time.perf_counter() - t) * 1000)
            lookup_cpu.append((time.process_time() - c) * 1000)
        # the live update when a check closes: the profile of its guest built again in the
        # commit (LiveProfiles.refresh of one reservation and everything connected to it)
        live = profiles.LiveProfiles("US", TZ)
        rids = [r for (r,) in store.db.execute("SELECT reservation FROM profile_members")]
        updates = []
        store.begin()
        for rid in rnd.sample(rids, 300):
            t = time.perf_counter()
            live.refresh(store.db, [rid])
            updates.append((time.perf_counter() - t) * 1000)
        store.rollback()
        store.close()
    return {
        "history": made,
        "report_seconds": reports,
        "report_cpu_seconds": cpu,
        "slowest_report": max(reports, key=lambda k: reports[k]),
        "load_average": round(os.getloadavg()[0], 1),
        "lookup": _stats(lookups),
        "lookup_cpu": _stats(lookup_cpu),
        "live_update_on_close": _stats(updates),
        "targets": "each report over the year < 1 s; lookup on seating < 5 ms",
    }


def render(r: dict[str, Any]) -> str:
    h = r["history"]
    lines = [
        f"a year: {h['checks']} checks ({h['paid']} paid), {h['profiles']} guests,"
        f" {h['waitlist_parties']} waitlist parties (written in {h['written_s']} s)",
        f"report over the year      wall s   cpu s   (load average {r['load_average']})",
    ]
    for name, s in r["report_seconds"].items():
        lines.append(f"  {name:<20}{s:>10.3f}{r['report_cpu_seconds'][name]:>8.3f}")
    lk, up, lc = r["lookup"], r["live_update_on_close"], r["lookup_cpu"]
    lines.append(f"profile lookup on seating p50/p99/max  {lk['p50_ms']} / {lk['p99_ms']} /"
                 f" {lk['max_ms']} ms (cpu {lc['p50_ms']} / {lc['p99_ms']} ms)")  # fmt: skip
    lines.append(f"live profile update on close p50/p99/max  {up['p50_ms']} / {up['p99_ms']} /"
                 f" {up['max_ms']} ms")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(run()))
