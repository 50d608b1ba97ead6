"""Guest profiles: one per guest, from the reservations, linked to the checks they paid.

Built deterministically from what the log already holds: the reservations part's reservations
and reservation -> check links (daemon/core/reservations.py) and the closed-checks projection. The
same log gives the same profiles, so they are a projection like closed_checks, not a second
source of truth. Guests are matched by phone normalised to E.164 with `phonenumbers` (from the
site's country) and by email (lower-cased); reservations that share either are one guest. The
name is only a tie-break: a reservation with neither phone nor email joins the one profile with
exactly that name, never one of several. Money is integer cents. The `profiles` table holds
them with indexes on phone and email for the lookup on seating.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from floorlink.daemon.core.events import (
    ReservationLinked,
    ReservationUnlinked,
    ReservationUpserted,
)
from floorlink.daemon.core.guests import normalise_email, normalise_name, normalise_phone
from floorlink.daemon.store import Store

if TYPE_CHECKING:
    from floorlink.daemon.config import Config

#: The personal fields of a reservation's guest (contract section 4; bridge/client.py Guest).
PERSONAL = ("name", "phone", "email", "notes", "allergies", "birthday")


def cents(text: object) -> int:
    """Integer cents of the POS's decimal string (half to even past the cent)."""
    if text is None:
        return 0
    return int((Decimal(str(text)) * 100).to_integral_value())


@dataclass
class Visit:
    check: str
    reservation: str
    day: str
    covers: int
    spend_cents: int
    items: dict[str, int]
    dessert: bool = False  # an item of the dessert course, or a dessert course fired


@dataclass
class Profile:
    id: str
    name: str | None = None
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    vip: bool = False
    notes: str | None = None
    allergies: str | None = None
    birthday: str | None = None
    source: str | None = None
    reservations: list[str] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)

    @property
    def spend_cents(self) -> int:
        return sum(v.spend_cents for v in self.visits)

    def summary(self) -> dict[str, Any]:
        """The visit summary of contract section 4: visits, last_visit, average_check,
        favourites (the three items ordered most often, ties by name)."""
        n = len(self.visits)
        items: Counter[str] = Counter()
        for v in self.visits:
            items.update(v.items)
        favourites = [k for k, _ in sorted(items.items(), key=lambda kv: (-kv[1], kv[0]))][:3]
        avg = None
        if n:
            avg = f"{(Decimal(self.spend_cents) / 100 / n).quantize(Decimal('0.01')):.2f}"
        return {
            "visits": n,
            "last_visit": max(v.day for v in self.visits) if n else None,
            "average_check": avg,
            "favourites": favourites,
            "allergies": self.allergies,
            "vip": self.vip,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "phones": sorted(self.phones),
            "emails": sorted(self.emails),
            "vip": self.vip,
            "notes": self.notes,
            "allergies": self.allergies,
            "birthday": self.birthday,
            "source": self.source,
            "reservations": self.reservations,
            "covers": sum(v.covers for v in self.visits),
            "spend": f"{Decimal(self.spend_cents) / 100:.2f}",
            "visits": [
                {
                    "check": v.check,
                    "reservation": v.reservation,
                    "day": v.day,
                    "covers": v.covers,
                    "spend": f"{Decimal(v.spend_cents) / 100:.2f}",
                    "items": v.items,
                    "dessert": v.dessert,
                }
                for v in self.visits
            ],
            "summary": self.summary(),
        }


class _Union:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def build_profiles(
    reservations: Mapping[str, Mapping[str, Any]],
    links: Mapping[str, Mapping[str, Any]],
    checks: Mapping[str, Mapping[str, Any]],
    country: str,
    tz: ZoneInfo,
) -> list[Profile]:
    """The profiles the reservations, their check links and the projection rows give."""
    order = sorted(reservations, key=lambda r: (str(reservations[r].get("time") or ""), r))
    keys: dict[str, tuple[str | None, str | None, str | None]] = {}
    uf = _Union()
    by_key: dict[str, str] = {}
    for rid in order:
        g = reservations[rid].get("guest") or {}
        phone, email = normalise_phone(g.get("phone"), country), normalise_email(g.get("email"))
        keys[rid] = (phone, email, normalise_name(g.get("name")))
        uf.find(rid)
        for k in (f"p:{phone}" if phone else None, f"e:{email}" if email else None):
            if k is None:
                continue
            if k in by_key:
                uf.union(by_key[k], rid)
            else:
                by_key[k] = rid
    # the name as a tie-break: only for a reservation with no phone and no email, and only
    # into the one group that carries exactly that name
    names: dict[str, set[str]] = {}
    for rid in order:
        phone, email, name = keys[rid]
        if name and (phone or email):
            names.setdefault(name, set()).add(uf.find(rid))
    for rid in order:
        phone, email, name = keys[rid]
        if name and not phone and not email:
            groups = {uf.find(g) for g in names.get(name, set())}
            if len(groups) == 1:
                uf.union(next(iter(groups)), rid)
    groups_of: dict[str, list[str]] = {}
    for rid in order:
        groups_of.setdefault(uf.find(rid), []).append(rid)
    profiles = []
    for root in sorted(groups_of):
        members = groups_of[root]
        p = Profile(id="g" + hashlib.sha256(root.encode()).hexdigest()[:12])
        for rid in members:  # later reservations overwrite: the newest details win
            r = reservations[rid]
            g = r.get("guest") or {}
            phone, email, _ = keys[rid]
            p.phones.update([phone] if phone else [])
            p.emails.update([email] if email else [])
            p.name = g.get("name") or p.name
            p.vip = p.vip or bool(g.get("vip"))
            for k in ("notes", "allergies", "birthday"):
                if g.get(k):
                    setattr(p, k, g[k])
            p.source = r.get("source") or p.source
            p.reservations.append(rid)
            link = links.get(rid)
            row = checks.get(str(link["check"])) if link else None
            if row is not None and row.get("closed") is not None and row.get("voided") is None:
                items: Counter[str] = Counter()
                for item in row.get("items") or []:
                    items[str(item.get("name"))] += int(item.get("qty", 1))
                day = datetime.fromtimestamp(row["opened"] / 1000, UTC).astimezone(tz)
                dessert = "dessert" in (row.get("courses") or {}) or any(
                    item.get("course") == "dessert" for item in row.get("items") or []
                )
                p.visits.append(
                    Visit(
                        str(row["check"]),
                        rid,
                        day.date().isoformat(),
                        int(row.get("covers") or 0),
                        cents(row.get("total")),
                        dict(items),
                        dessert=dessert,
                    )
                )
        p.visits.sort(key=lambda v: (v.day, v.check))
        profiles.append(p)
    return profiles


# ---- the store table -----------------------------------------------------------------------


def write_profiles(db: sqlite3.Connection, profiles: Iterable[Profile]) -> int:
    """Replace the `profiles` table's rows (inside the caller's transaction)."""
    db.execute("DELETE FROM profile_keys")
    db.execute("DELETE FROM profiles")
    n = 0
    for p in profiles:
        doc = p.to_json()
        db.execute(
            "INSERT INTO profiles (id, name, last_visit, spend_cents, data) VALUES (?,?,?,?,?)",
            (
                p.id,
                p.name,
                doc["summary"]["last_visit"],
                p.spend_cents,
                json.dumps(doc, sort_keys=True),
            ),
        )
        db.executemany(
            "INSERT OR IGNORE INTO profile_keys (key, profile) VALUES (?, ?)",
            [(f"phone:{x}", p.id) for x in p.phones] + [(f"email:{x}", p.id) for x in p.emails],
        )
        n += 1
    return n


def lookup(
    db: sqlite3.Connection, phone: str | None, email: str | None, country: str
) -> dict[str, Any] | None:
    """The profile of a guest being seated, by normalised phone, then email (indexed)."""
    for key in (
        f"phone:{normalise_phone(phone, country)}" if normalise_phone(phone, country) else None,
        f"email:{normalise_email(email)}" if normalise_email(email) else None,
    ):
        if key is None:
            continue
        row = db.execute(
            "SELECT p.data FROM profile_keys k JOIN profiles p ON p.id = k.profile WHERE k.key = ?",
            (key,),
        ).fetchone()
        if row is not None:
            data: dict[str, Any] = json.loads(row[0])
            return data
    return None


def from_log(store: Store) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every reservation (its latest version) and reservation -> check link the log holds. Read
    from the events, not the state: the state forgets past reservations, the log does not."""
    reservations: dict[str, dict[str, Any]] = {}
    links: dict[str, dict[str, Any]] = {}
    for event in store.events():
        d = event.data
        if event.type == ReservationUpserted.TYPE:
            reservations[str(d["id"])] = dict(d)
        elif event.type == ReservationLinked.TYPE:
            links[str(d["reservation"])] = dict(d)
        elif event.type == ReservationUnlinked.TYPE:
            links.pop(str(d["reservation"]), None)
    return reservations, links


def rebuild(config: Config) -> list[Profile]:
    """Rebuild the profiles from the log and the closed-checks projection, in one transaction."""
    store = Store(config.store.path)
    store.open()
    try:
        reservations, links = from_log(store)
        checks = {row["check"]: row for row in store.closed_checks()}
        tz = ZoneInfo(config.site.timezone)
        profiles = build_profiles(reservations, links, checks, config.site.country, tz)
        store.begin()
        write_profiles(store.db, profiles)
        store.commit()
    finally:
        store.close()
    return profiles


def export(config: Config, profile: Mapping[str, Any]) -> dict[str, Any]:
    """Everything held about one guest: the profile, their reservations as received, and the
    checks of their visits (a subject access request)."""
    store = Store(config.store.path)
    store.open_readonly()
    try:
        reservations, _links = from_log(store)
        checks = {row["check"]: row for row in store.closed_checks()}
    finally:
        store.close(clean=False)
    mine = {rid: reservations[rid] for rid in profile["reservations"] if rid in reservations}
    visits = {v["check"]: checks.get(v["check"]) for v in profile["visits"]}
    return {"profile": dict(profile), "reservations": mine, "checks": visits}
