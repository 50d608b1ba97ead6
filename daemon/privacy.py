"""Erasing a guest's personal data everywhere the box holds it, keeping the anonymous totals.

The log is the truth, so the erase rewrites it: in every stored JSON document (events, outbox
payloads, table objects) each personal value of the guest (name, phone, email, notes,
allergies, birthday, as typed and normalised) is replaced by one token, `erased-<profile>`,
the same everywhere. The guest object of their reservations keeps only that token as the name
(and VIP). Because every occurrence changes the same way, folding the rewritten log gives a
state with the same shape and the same anonymous totals (visits, spend, covers, items); the
snapshots, the table objects, the closed-checks projection and the profiles are then rebuilt
from it, so `floorlink replay` agrees. Deleted pages are zeroed (`secure_delete`), the file is
vacuumed and the WAL checkpointed and truncated, so no old copy stays on disk. A running
daemon does it on its own store thread and folds its state again from the rewritten log
(`erase_store`, through the local API); the CLI erases the file directly only when no daemon
answers. See docs/reports.md#privacy.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from floorlink.daemon import profiles
from floorlink.daemon.core.events import ReservationUpserted
from floorlink.daemon.core.guests import normalise_email
from floorlink.daemon.store import Store, dumps

if TYPE_CHECKING:
    from floorlink.daemon.config import Config

#: Values shorter than this are replaced only where they are a whole string, never inside one.
MIN_SUBSTRING = 4


class Scrubber:
    """Replaces a set of personal values by a token, in JSON documents and raw text."""

    def __init__(self, values: Iterable[str], token: str) -> None:
        self.token = token
        self.exact = {v for v in values if v}
        self.inner = sorted((v for v in self.exact if len(v) >= MIN_SUBSTRING), key=len)[::-1]

    def text(self, s: str) -> str:
        if s in self.exact:
            return self.token
        for v in self.inner:
            if v in s:
                s = s.replace(v, self.token)
        return s

    def doc(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.doc(v) for v in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.doc(v) for k, v in value.items()}
        return value


def personal_values(profile: profiles.Profile, reservations: Mapping[str, Any]) -> set[str]:
    """Every personal value of the guest, as received and as normalised."""
    out: set[str] = set(profile.phones) | set(profile.emails)
    for rid in profile.reservations:
        guest = (reservations.get(rid) or {}).get("guest") or {}
        for key in profiles.PERSONAL:
            value = guest.get(key)
            if isinstance(value, str) and value.strip():
                out.update({value, value.strip()})
        email = normalise_email(guest.get("email"))
        if email:
            out.add(email)
    return out


def _rewrite(db: sqlite3.Connection, table: str, key: str, column: str, fix: Any) -> int:
    changed = 0
    rows = db.execute(f"SELECT {key}, {column} FROM {table}").fetchall()
    for k, text in rows:
        new = fix(text)
        if new != text:
            db.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (new, k))
            changed += 1
    return changed


def _erase_one(
    db: sqlite3.Connection, p: profiles.Profile, values: set[str], counts: dict[str, int]
) -> None:
    token = f"erased-{p.id}"
    scrub = Scrubber(values, token)
    mine = set(p.reservations)
    for seq, etype, text in db.execute("SELECT seq, type, data FROM events").fetchall():
        data = json.loads(text)
        if etype == ReservationUpserted.TYPE and data.get("id") in mine:
            guest = data.get("guest") or {}
            data["guest"] = {"name": token}
            if "vip" in guest:
                data["guest"]["vip"] = guest["vip"]
        new = dumps(scrub.doc(data))
        if new != text:
            db.execute("UPDATE events SET data = ? WHERE seq = ?", (new, seq))
            counts["events"] += 1

    def fix_json(text: str) -> str:
        return dumps(scrub.doc(json.loads(text)))

    def fix_blob(raw: bytes | None) -> bytes | None:
        if raw is None:
            return None
        out = bytes(raw)
        for v in sorted(scrub.exact, key=len)[::-1]:
            out = out.replace(v.encode(), token.encode())
        return out

    counts["outbox"] += _rewrite(db, "outbox", "id", "payload", fix_json)
    counts["other"] += _rewrite(db, "rejected", "rowid", "error", scrub.text)
    counts["other"] += _rewrite(db, "dead_letters", "id", "payload", fix_blob)


def erase(config: Config, targets: list[profiles.Profile], now_ms: int) -> dict[str, int]:
    """Erase the personal data of `targets` in a store no daemon has open (the CLI's path when
    no daemon answers; a running daemon erases through `erase_store` on its own connection)."""
    store = Store(config.store.path)
    store.open()
    try:
        return erase_store(store, config, targets, now_ms)
    finally:
        store.close()


def erase_store(
    store: Store, config: Config, targets: list[profiles.Profile], now_ms: int
) -> dict[str, int]:
    """Rewrite the log in one transaction, rebuild everything derived from it, then zero, vacuum
    and truncate the WAL. On the daemon's store thread when it runs (it then folds its state
    again from the rewritten log: daemon/engine.py `maintain`)."""
    from floorlink.daemon.core.closed_checks import rows_of
    from floorlink.daemon.floor_admin import seed_tables
    from floorlink.daemon.parts import build_state

    db = store.db
    counts = {"guests": len(targets), "events": 0, "outbox": 0, "other": 0}
    reservations, _ = profiles.from_log(store)
    db.execute("PRAGMA secure_delete = ON")
    store.begin()
    try:
        for p in targets:
            _erase_one(db, p, personal_values(p, reservations), counts)
        # everything derived is rebuilt from the rewritten log
        db.execute("DELETE FROM snapshots")
        state = build_state(config, seed_tables(store))
        rows = rows_of(state, store.events())
        store.replace_closed_checks(rows.values())
        store.write_tables({tid: state.table_object(tid) for tid in state.floor.specs})
        if state.seq:
            store.write_snapshot(state.seq, state.dumps(), now_ms)
        profiles.rebuild_store(store, config.site.country, ZoneInfo(config.site.timezone))
        store.commit()
    except BaseException:
        store.rollback()
        raise
    db.execute("VACUUM")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return counts


def find(
    store: Store, config: Config, phone: str | None, email: str | None
) -> profiles.Profile | None:
    """The guest with this phone or email, built from what the log holds now."""
    country = config.site.country
    found = profiles.lookup(store.db, phone, email, country)
    if found is None:
        return None
    reservations, links, merges = profiles.read_log(store)
    checks = {row["check"]: row for row in store.closed_checks()}
    tz = ZoneInfo(config.site.timezone)
    built = profiles.build_profiles(
        reservations, links, checks, country, tz, profiles.active(merges)
    )
    return next((p for p in built if p.id == found["id"]), None)


def stale(built: Iterable[profiles.Profile], reservations: Mapping[str, Any], days: float,
          now_ms: int) -> list[profiles.Profile]:  # fmt: skip
    """Profiles of guests not seen (no reservation time, no visit) for `days`, not yet erased."""
    cutoff = now_ms - days * 86_400_000
    out = []
    for p in built:
        if p.name and p.name.startswith("erased-"):
            continue
        seen = [0]
        for rid in p.reservations:
            raw = (reservations.get(rid) or {}).get("time")
            try:
                seen.append(int(datetime.fromisoformat(str(raw)).timestamp() * 1000))
            except ValueError:
                continue
        seen += [
            int(datetime.fromisoformat(v.day).replace(tzinfo=UTC).timestamp() * 1000)
            for v in p.visits
        ]
        if max(seen) < cutoff:
            out.append(p)
    return out
