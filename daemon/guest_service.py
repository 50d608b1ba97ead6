"""The guest and report operations of the running daemon, behind the local API: erase a guest
(on the store thread, the state folded again after), merge and unmerge duplicate profiles (as
logged inputs), look a guest up, and any report as JSON. daemon/app.py delegates here, so its
part stays one line each; the CLI (daemon/guest_cli.py) calls the same routes while a daemon
runs.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import structlog

from floorlink.daemon import metrics, privacy, profiles
from floorlink.daemon.core.events import GuestMerge, GuestUnmerge
from floorlink.daemon.core.state import Input
from floorlink.daemon.routes import status_for
from floorlink.daemon.service import CommandResult
from floorlink.daemon.store import Store

if TYPE_CHECKING:
    from floorlink.daemon.config import Config
    from floorlink.daemon.engine import Engine

log = structlog.get_logger(__name__)


async def lookup(engine: Engine, config: Config, phone: str | None, email: str | None) -> Any:
    """The profile of a guest being seated (the indexed lookup), or None."""
    return await engine.call(
        lambda: profiles.lookup(engine.store.db, phone, email, config.site.country)
    )


async def erase(
    engine: Engine, config: Config, phone: str | None, email: str | None, now: int
) -> CommandResult:
    """Erase one guest everywhere while the daemon runs. Nothing personal is logged: the
    profile id and the counts only."""
    if not phone and not email:
        return CommandResult(False, status=404, error="Give the guest's phone or email.")

    def run(store: Store) -> dict[str, Any] | None:
        target = privacy.find(store, config, phone, email)
        if target is None:
            return None
        counts = privacy.erase_store(store, config, [target], now)
        return {"profile": target.id, **counts}

    done = await engine.maintain(run)
    if done is None:
        return CommandResult(False, status=404, error="No guest has that phone or email.")
    metrics.GUESTS_ERASED.inc()
    log.info("guest erased", profile=done["profile"], events=done["events"])
    return CommandResult(True, body=done)


async def purge(engine: Engine, config: Config, now: int) -> CommandResult:
    """Erase every guest not seen for `privacy.retention_days` (none set: nothing)."""
    days = config.privacy.retention_days
    if days is None:
        return CommandResult(True, body={"guests": 0, "events": 0, "outbox": 0})

    def run(store: Store) -> dict[str, int]:
        reservations, links, merges = profiles.read_log(store)
        checks = {row["check"]: row for row in store.closed_checks()}
        built = profiles.build_profiles(
            reservations, links, checks, config.site.country, ZoneInfo(config.site.timezone),
            profiles.active(merges),
        )  # fmt: skip
        old = privacy.stale(built, reservations, days, now)
        if not old:
            return {"guests": 0, "events": 0, "outbox": 0}
        return privacy.erase_store(store, config, old, now)

    done = await engine.maintain(run)
    if done["guests"]:
        metrics.GUESTS_ERASED.inc(done["guests"])
    log.info("guests purged", guests=done["guests"], retention_days=days)
    return CommandResult(True, body=done)


async def _anchor(engine: Engine, profile: str) -> str | None:
    """One reservation of a profile: a merge names reservations, which never change id."""

    def run() -> str | None:
        row = engine.store.db.execute(
            "SELECT min(reservation) FROM profile_members WHERE profile = ?", (profile,)
        ).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    return await engine.call(run)


async def merge(engine: Engine, a: str, b: str, by: str, now: int) -> CommandResult:
    """Merge two profiles (by id): a logged `guest.merge` input, reversible by its merge id."""
    ra, rb = await _anchor(engine, a), await _anchor(engine, b)
    for pid, rid in ((a, ra), (b, rb)):
        if rid is None:
            return CommandResult(False, status=404, error=f"There is no guest profile {pid[:64]}.")
    if ra == rb:
        return CommandResult(False, status=409, error="Those are the same guest.")
    data = {"a": ra, "b": rb, "by": by}
    return await _submit(engine, GuestMerge.TYPE, data, now, "guests merged")


async def unmerge(engine: Engine, merge_id: str, by: str, now: int) -> CommandResult:
    data = {"merge": merge_id, "by": by}
    return await _submit(engine, GuestUnmerge.TYPE, data, now, "guest merge undone")


async def _submit(
    engine: Engine, itype: str, data: dict[str, Any], now: int, what: str
) -> CommandResult:
    done = await engine.submit(Input("host", uuid.uuid4().hex, itype, now, data))
    out = done.outcome
    if out.result != "accepted":
        status = status_for(out.reason)
        return CommandResult(False, status=status, error=out.error or "That did not work.")
    log.info(what, merge=out.body.get("merge"), by=out.body.get("by"))
    return CommandResult(True, body=await merges(engine, str(out.body["merge"])))


async def merges(engine: Engine, only: str | None = None) -> dict[str, Any]:
    """The merge (or every merge): id, the two reservations, who, when, undone when, and the
    profile it is in now."""

    def run() -> list[dict[str, Any]]:
        rows = engine.store.db.execute(
            "SELECT m.merge, m.a, m.b, m.by, m.at, m.undone, p.profile FROM profile_merges m"
            " LEFT JOIN profile_members p ON p.reservation = m.a ORDER BY m.at, m.merge"
        ).fetchall()
        keys = ("merge", "a", "b", "by", "at", "undone", "profile")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    every = await engine.call(run)
    if only is not None:
        return next((m for m in every if m["merge"] == only), {"merge": only})
    return {"merges": every}


def period(
    config: Config, now: int, day: str | None, since: str | None, until: str | None
) -> tuple[date, date]:
    """The service days a report covers: `day` (or `today`), or since..until, else the service
    day that just ended. ValueError with a readable message for a bad date."""
    from floorlink.daemon.report import default_day, service_day_of

    tz = ZoneInfo(config.site.timezone)
    if day == "today":
        d = service_day_of(now, tz, config.reports.cutoff)
        return d, d
    if day:
        d = date.fromisoformat(day)
        return d, d
    if since or until:
        first = date.fromisoformat(since or until or "")
        last = date.fromisoformat(until or since or "")
        if last < first:
            raise ValueError("until is before since")
        if (last - first).days > 400:
            raise ValueError("at most 400 days in one report")
        return first, last
    d = default_day(now, tz, config.reports.cutoff)
    return d, d


async def report(
    config: Config, name: str, now: int, day: str | None, since: str | None, until: str | None
) -> CommandResult:
    from floorlink.daemon.report import REPORTS, report_json

    if name not in REPORTS:
        return CommandResult(False, status=404, error=f"There is no report {name[:64]}.")
    try:
        first, last = period(config, now, day, since, until)
    except ValueError as exc:
        return CommandResult(False, status=422, error=f"day, since, until: YYYY-MM-DD ({exc})")
    body = await asyncio.to_thread(report_json, config, name, first, last)
    body["since"], body["until"] = first.isoformat(), last.isoformat()
    return CommandResult(True, body=body)


def summaries(db: Any, part: Any, country: str) -> dict[str, dict[str, Any]]:
    """reservation -> its guest's visit summary from the profiles (visits, last visit, average
    check, favourites, allergies, VIP), for the reservations the stand can show (timed, active
    or seated). A view builder: on the store thread, after each commit that touches
    reservations or closes a check, so the stand's summary is the profile's, never stale."""
    from floorlink.daemon.core.reservations import ACTIVE

    out: dict[str, dict[str, Any]] = {}
    for rid, r in part.reservations.items():
        if r.get("_time") is None or (r.get("status") not in ACTIVE and rid not in part.seated):
            continue
        g = r.get("guest") or {}
        found = profiles.lookup(db, g.get("phone"), g.get("email"), country)
        if found is not None:
            out[rid] = {"profile": found["id"], **found["summary"]}
    return out


def register_summaries(engine: Engine, country: str) -> None:
    """The stand's visit summaries as an engine view, rebuilt after each commit that touches a
    reservation, a merge, or closes a check (the profile changed in that commit)."""
    from floorlink.daemon.core.events import CheckClosed, types_in
    from floorlink.daemon.parts import reservations_of

    engine.view_builders["guest_summaries"] = (
        tuple(sorted(types_in("reservations", "guests") | {CheckClosed.TYPE})),
        lambda state: summaries(engine.store.db, reservations_of(state), country),
    )
