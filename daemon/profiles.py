"""Guest profiles: one per guest, from the reservations, linked to the checks they paid.

Built deterministically from what the log already holds: the reservations part's reservations
and reservation -> check links (daemon/core/reservations.py) and the closed-checks projection. The
same log gives the same profiles, so they are a projection like closed_checks, not a second
source of truth. Guests are matched by phone normalised to E.164 with `phonenumbers` (from the
site's country) and by email (lower-cased); reservations that share either are one guest. The
name is only a tie-break: a reservation with neither phone nor email joins the one profile with
exactly that name, never one of several; a host's merge (`guest.merged`, undone by
`guest.unmerged`) joins two profiles the matching could not. Money is integer cents. The
`profiles` table holds them with indexes on phone and email for the lookup on seating.

They are never stale: `LiveProfiles` runs inside the engine's transaction, after the events and
the closed-checks rows of each input are written, and rebuilds only the profiles those touched
(from `profile_members`, one row per reservation), so a profile is right the moment its check
closes. `floorlink replay` compares them with a build from the whole log.
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

from floorlink.daemon.core.closed_checks import Row
from floorlink.daemon.core.events import (
    GuestMerged,
    GuestUnmerged,
    ReservationLinked,
    ReservationUnlinked,
    ReservationUpserted,
)
from floorlink.daemon.core.guests import normalise_email, normalise_name, normalise_phone
from floorlink.daemon.core.state import Event
from floorlink.daemon.store import _CHECK_SQL, Store, _check_row

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
    merges: list[str] = field(default_factory=list)  # the host's merges that joined it

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
            "merges": self.merges,
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
    merges: Mapping[str, tuple[str, str]] | None = None,
) -> list[Profile]:
    """The profiles the reservations, their check links, the projection rows and the active
    merges (id -> one reservation of each profile) give."""
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
    merged: dict[str, list[str]] = {}
    for mid, (a, b) in sorted((merges or {}).items()):
        if a in keys and b in keys:
            uf.union(a, b)
            merged.setdefault(a, []).append(mid)
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
            p.merges.extend(merged.get(rid, []))
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
        p.merges.sort(key=lambda m: (len(m), m))
        profiles.append(p)
    return profiles


# ---- the store table -----------------------------------------------------------------------


def write_profiles(db: sqlite3.Connection, profiles: Iterable[Profile]) -> int:
    """Replace the `profiles` table's rows (inside the caller's transaction)."""
    db.execute("DELETE FROM profile_keys")
    db.execute("DELETE FROM profiles")
    return _insert(db, profiles)


def _insert(db: sqlite3.Connection, profiles: Iterable[Profile]) -> int:
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
        db.executemany(
            "UPDATE profile_members SET profile = ? WHERE reservation = ?",
            [(p.id, rid) for rid in p.reservations],
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
    reservations, links, _ = read_log(store)
    return reservations, links


def read_log(
    store: Store,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Reservations, links, and every merge (id -> a, b, by, at, undone) the log holds."""
    reservations: dict[str, dict[str, Any]] = {}
    links: dict[str, dict[str, Any]] = {}
    merges: dict[str, dict[str, Any]] = {}
    for event in store.events():
        _fold(event, reservations, links, merges)
    return reservations, links, merges


def _fold(
    event: Event,
    reservations: dict[str, dict[str, Any]],
    links: dict[str, dict[str, Any]],
    merges: dict[str, dict[str, Any]],
) -> None:
    d = event.data
    if event.type == ReservationUpserted.TYPE:
        reservations[str(d["id"])] = dict(d)
    elif event.type == ReservationLinked.TYPE:
        links[str(d["reservation"])] = dict(d)
    elif event.type == ReservationUnlinked.TYPE:
        links.pop(str(d["reservation"]), None)
    elif event.type == GuestMerged.TYPE:
        merges[str(d["merge"])] = {"a": d["a"], "b": d["b"], "by": d["by"], "at": event.at,
                                   "undone": None}  # fmt: skip
    elif event.type == GuestUnmerged.TYPE and str(d["merge"]) in merges:
        merges[str(d["merge"])]["undone"] = event.at


def active(merges: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    return {k: (str(m["a"]), str(m["b"])) for k, m in merges.items() if m.get("undone") is None}


def _member(rid: str, r: Mapping[str, Any], check: str | None, country: str) -> tuple[Any, ...]:
    g = r.get("guest") or {}
    phone, email = normalise_phone(g.get("phone"), country), normalise_email(g.get("email"))
    return (rid, phone, email, normalise_name(g.get("name")), check, r.get("time"),
            r.get("source"), json.dumps(dict(r), sort_keys=True))  # fmt: skip


_UPSERT_MEMBER = (
    'INSERT INTO profile_members (reservation, phone, email, name, "check", time, source, data)'
    " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (reservation) DO UPDATE SET phone = excluded.phone,"
    " email = excluded.email, name = excluded.name, time = excluded.time,"
    " source = excluded.source, data = excluded.data"
)


def rebuild_store(store: Store, country: str, tz: ZoneInfo) -> list[Profile]:
    """Every profile table rebuilt from the log and the projection (in the caller's
    transaction): members, merges, profiles and their keys."""
    reservations, links, merges = read_log(store)
    db = store.db
    db.execute("DELETE FROM profile_members")
    db.execute("DELETE FROM profile_merges")
    db.executemany(
        _UPSERT_MEMBER,
        [
            _member(rid, r, str(links[rid]["check"]) if rid in links else None, country)
            for rid, r in reservations.items()
        ],
    )
    db.executemany(
        'UPDATE profile_members SET "check" = ? WHERE reservation = ?',
        [(str(link["check"]), rid) for rid, link in links.items()],
    )
    db.executemany(
        "INSERT INTO profile_merges (merge, a, b, by, at, undone) VALUES (?,?,?,?,?,?)",
        [(k, m["a"], m["b"], m["by"], m["at"], m["undone"]) for k, m in merges.items()],
    )
    checks = {row["check"]: row for row in store.closed_checks()}
    profiles = build_profiles(reservations, links, checks, country, tz, active(merges))
    write_profiles(db, profiles)
    db.execute("DELETE FROM meta WHERE key = 'profiles.rebuild'")
    return profiles


def rebuild(config: Config) -> list[Profile]:
    """Rebuild the profiles from the log and the closed-checks projection, in one transaction.
    The daemon keeps them current itself; this is for a store it has not opened since."""
    store = Store(config.store.path)
    store.open()
    try:
        store.begin()
        try:
            profiles = rebuild_store(store, config.site.country, ZoneInfo(config.site.timezone))
            store.commit()
        except BaseException:
            store.rollback()
            raise
    finally:
        store.close()
    return profiles


def built(config: Config) -> list[Profile]:
    """The profiles the log gives now, built in memory from a read-only look at the store (the
    segments read them this way, whether a daemon runs or not)."""
    store = Store(config.store.path)
    store.open_readonly()
    try:
        reservations, links, merges = read_log(store)
        checks = {row["check"]: row for row in store.closed_checks()}
    finally:
        store.close(clean=False)
    tz = ZoneInfo(config.site.timezone)
    return build_profiles(reservations, links, checks, config.site.country, tz, active(merges))


def stored(db: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """Every profile in the table, by id (replay and the tests compare them with a rebuild)."""
    return {str(i): json.loads(d) for i, d in db.execute("SELECT id, data FROM profiles")}


def _chunks(items: Iterable[str], n: int = 500) -> Iterable[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


class LiveProfiles:
    """Keeps the profile tables current inside the engine's transaction (daemon/engine.py
    `projections`): after each input's events and closed-checks rows are written, the
    reservations they touched (upserted, linked, unlinked, merged, or whose check ended) and
    every reservation connected to them (same phone, email, name, profile or merge, before or
    after) are built again, and only their profiles are replaced. A connected set is closed
    under everything the full build joins on, so the result is the full build's."""

    def __init__(self, country: str, tz: ZoneInfo) -> None:
        self.country, self.tz = country, tz

    @classmethod
    def of(cls, config: Config) -> LiveProfiles:
        return cls(config.site.country, ZoneInfo(config.site.timezone))

    def opened(self, store: Store) -> None:
        """On start, inside the open transaction: a store from before v8 is built once."""
        if store.meta("profiles.rebuild") is not None:
            rebuild_store(store, self.country, self.tz)

    def write(
        self, store: Store, events: Iterable[Event], checks: Iterable[Mapping[str, Any]]
    ) -> None:
        db = store.db
        touched: set[str] = set()
        for e in events:
            d = e.data
            if e.type == ReservationUpserted.TYPE:
                rid = str(d["id"])
                db.execute(_UPSERT_MEMBER, _member(rid, d, None, self.country))
                touched.add(rid)
            elif e.type == ReservationLinked.TYPE:
                rid = str(d["reservation"])
                self._ensure(db, rid)
                db.execute('UPDATE profile_members SET "check" = ? WHERE reservation = ?',
                           (str(d["check"]), rid))  # fmt: skip
                touched.add(rid)
            elif e.type == ReservationUnlinked.TYPE:
                rid = str(d["reservation"])
                db.execute(
                    'UPDATE profile_members SET "check" = NULL WHERE reservation = ?', (rid,)
                )
                touched.add(rid)
            elif e.type == GuestMerged.TYPE:
                db.execute(
                    "INSERT OR REPLACE INTO profile_merges (merge, a, b, by, at, undone)"
                    " VALUES (?,?,?,?,?,NULL)",
                    (d["merge"], d["a"], d["b"], d["by"], e.at),
                )
                touched.update((str(d["a"]), str(d["b"])))
            elif e.type == GuestUnmerged.TYPE:
                row = db.execute(
                    "SELECT a, b FROM profile_merges WHERE merge = ?", (d["merge"],)
                ).fetchone()
                db.execute("UPDATE profile_merges SET undone = ? WHERE merge = ?",
                           (e.at, d["merge"]))  # fmt: skip
                touched.update(str(x) for x in row or ())
        ended = [str(r["check"]) for r in checks]
        for batch in _chunks(ended):
            q = ",".join("?" * len(batch))
            touched.update(
                str(r[0])
                for r in db.execute(
                    f'SELECT reservation FROM profile_members WHERE "check" IN ({q})', batch
                )
            )
        if touched:
            self.refresh(db, touched)

    @staticmethod
    def _ensure(db: sqlite3.Connection, rid: str) -> None:
        """A link to a reservation the log never sent keeps a row, as the full build does not
        (it has no guest): the row has no keys and joins nobody."""
        db.execute(
            "INSERT OR IGNORE INTO profile_members (reservation, data) VALUES (?, '{}')", (rid,)
        )

    def refresh(self, db: sqlite3.Connection, touched: Iterable[str]) -> list[Profile]:
        """Build the profiles of `touched` and everything connected to them again."""
        seen: set[str] = set()
        frontier = set(touched)
        rows: dict[str, tuple[Any, ...]] = {}
        merges: dict[str, tuple[str, str]] = {}
        while frontier:
            seen |= frontier
            found: set[str] = set()
            for batch in _chunks(sorted(frontier)):
                q = ",".join("?" * len(batch))
                for row in db.execute(
                    'SELECT reservation, profile, phone, email, name, "check", data'
                    f" FROM profile_members WHERE reservation IN ({q})",
                    batch,
                ):
                    rows[row[0]] = row
                for mid, a, b in db.execute(
                    f"SELECT merge, a, b FROM profile_merges WHERE undone IS NULL"
                    f" AND (a IN ({q}) OR b IN ({q}))",
                    batch + batch,
                ):
                    merges[mid] = (a, b)
                    found.update((a, b))
            for col, idx in (("profile", 1), ("phone", 2), ("email", 3), ("name", 4)):
                values = sorted({rows[r][idx] for r in frontier if r in rows and rows[r][idx]})
                for batch in _chunks(values):
                    q = ",".join("?" * len(batch))
                    found.update(
                        str(r[0])
                        for r in db.execute(
                            f"SELECT reservation FROM profile_members WHERE {col} IN ({q})", batch
                        )
                    )
            frontier = found - seen
        reservations = {rid: json.loads(r[6]) for rid, r in rows.items() if r[6] != "{}"}
        links = {rid: {"check": r[5]} for rid, r in rows.items() if r[5]}
        checks: dict[str, Row] = {}
        for batch in _chunks(sorted({str(r[5]) for r in rows.values() if r[5]})):
            q = ",".join("?" * len(batch))
            for row in db.execute(f'SELECT {_CHECK_SQL} FROM closed_checks WHERE "check" IN ({q})',
                                  batch):  # fmt: skip
                checks[row[0]] = _check_row(row)
        old = sorted({str(r[1]) for r in rows.values() if r[1]})
        for batch in _chunks(old):
            q = ",".join("?" * len(batch))
            db.execute(f"DELETE FROM profile_keys WHERE profile IN ({q})", batch)
            db.execute(f"DELETE FROM profiles WHERE id IN ({q})", batch)
        built = build_profiles(reservations, links, checks, self.country, self.tz, merges)
        _insert(db, built)
        return built


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
