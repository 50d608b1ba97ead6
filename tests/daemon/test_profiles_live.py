"""Guest profiles kept current by the daemon: updated in the commit of the events that change
them (right after a check closes), equal to a build from the whole log, and merged and unmerged
by the host with the history kept."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from guests_support import NIGHT, VISITS, _res
from test_profiles import _config

from floorlink.daemon import profiles
from floorlink.daemon.config import Config
from floorlink.daemon.core.state import Input
from floorlink.daemon.engine import Engine
from floorlink.daemon.parts import build_state
from floorlink.daemon.store import Store


class Box:
    """An engine with the live profiles, driven input by input."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.clock = [0]
        self.n = 0
        self.engine = Engine(
            Store(config.store.path),
            lambda: build_state(config),
            clock=lambda: self.clock[0],
            projections=[profiles.LiveProfiles.of(config)],
        )

    async def __aenter__(self) -> Box:
        await self.engine.open()
        self.runner = asyncio.create_task(self.engine.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.runner.cancel()
        await self.engine.close()

    async def put(
        self, etype: str, at: Any, data: dict[str, Any], source: str = "pos:T", ok: bool = True
    ) -> dict[str, Any]:
        self.n += 1
        ms = int(at.timestamp() * 1000)
        self.clock[0] = ms
        out = await self.engine.submit(Input(source, f"e{self.n}", etype, ms, data))
        assert (out.outcome.result == "accepted") is ok, (etype, out.outcome)
        return out.outcome.body

    def lookup(self, phone: str | None = None, email: str | None = None) -> Any:
        return profiles.lookup(self.engine.store.db, phone, email, "US")

    def stored(self) -> dict[str, dict[str, Any]]:
        return profiles.stored(self.engine.store.db)

    async def visit(self, rid: str, day: int, total: str, items: list[dict[str, Any]]) -> None:
        at = NIGHT + timedelta(days=day)
        check = f"C-{rid}"
        await self.put("reservation.arrive", at, {"reservation": rid, "table": "2"}, "host")
        await self.put("check.opened", at, {"check": check, "table": "2", "guests": 2})
        if items:
            await self.put("check.items_added", at + timedelta(minutes=5),
                           {"check": check, "items": items})  # fmt: skip
        await self.put("reservation.link", at + timedelta(minutes=6),
                       {"reservation": rid, "check": check, "by": "host"}, "host")  # fmt: skip
        await self.put("check.closed", at + timedelta(minutes=70),
                       {"check": check, "total": total})  # fmt: skip
        await self.put("host.cleared", at + timedelta(minutes=80), {"table": "2"}, "host")


def _full_build(config: Config) -> dict[str, dict[str, Any]]:
    store = Store(config.store.path)
    store.open_readonly()
    try:
        reservations, links, merges = profiles.read_log(store)
        checks = {row["check"]: row for row in store.closed_checks()}
    finally:
        store.close(clean=False)
    built = profiles.build_profiles(
        reservations, links, checks, "US", build_state(config).tz, profiles.active(merges)
    )
    return {p.id: p.to_json() for p in built}


async def test_a_profile_is_right_the_moment_its_check_closes(tmp_path: Path) -> None:
    config = _config(tmp_path)
    async with Box(config) as box:
        reservations = [_res(rid, day, **guest) for rid, day, guest, _, _ in VISITS]
        await box.put("cloud.pulled", NIGHT - timedelta(days=1),
                      {"reservations": reservations, "cursor": "1"}, "cloud")  # fmt: skip
        before = box.lookup(phone="312-555-0101")
        assert before is not None and before["summary"]["visits"] == 0
        assert before["name"] == "Ana Ruiz"  # r3 is her latest reservation
        for rid, day, _, total, items in VISITS:
            await box.visit(rid, day, total, items)
            if rid == "r1":  # no rebuild: the commit that closed the check updated her
                ana = box.lookup(email="ANA@example.com")
                assert ana["summary"]["visits"] == 1
                assert ana["summary"]["average_check"] == "100.00"
                assert ana["summary"]["favourites"] == ["ribeye", "tart"]
        ana = box.lookup(phone="+1 312 555 0101")
        assert ana["summary"]["visits"] == 4 and ana["spend"] == "340.75"
        assert box.stored() == _full_build(config)


async def test_a_new_phone_splits_and_joins_profiles_as_a_full_build_does(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path)
    async with Box(config) as box:
        reservations = [_res(rid, day, **guest) for rid, day, guest, _, _ in VISITS]
        await box.put("cloud.pulled", NIGHT - timedelta(days=1),
                      {"reservations": reservations, "cursor": "1"}, "cloud")  # fmt: skip
        for rid, day, _, total, items in VISITS[:2]:
            await box.visit(rid, day, total, items)
        # r2 now carries Bo's number and r4 (Bo) gets it too: r2 leaves Ana for Bo
        changed = [
            _res("r2", 7, name="Ana R.", phone="+1 312 555 0177"),
            _res("r4", 1, name="Bo Chen", phone="312 555 0177"),
        ]
        await box.put("cloud.pulled", NIGHT, {"reservations": changed, "cursor": "2"}, "cloud")
        stored = box.stored()
        assert stored == _full_build(config)
        groups = sorted(sorted(p["reservations"]) for p in stored.values())
        assert groups == [["r1", "r3", "r5"], ["r2", "r4"]]


async def test_merge_and_unmerge_keep_the_history(tmp_path: Path) -> None:
    config = _config(tmp_path)
    async with Box(config) as box:
        reservations = [_res(rid, day, **guest) for rid, day, guest, _, _ in VISITS]
        await box.put("cloud.pulled", NIGHT - timedelta(days=1),
                      {"reservations": reservations, "cursor": "1"}, "cloud")  # fmt: skip
        for rid, day, _, total, items in VISITS:
            await box.visit(rid, day, total, items)
        separate = box.stored()
        assert len(separate) == 2
        at = NIGHT + timedelta(days=20)
        body = await box.put("guest.merge", at, {"a": "r4", "b": "r1", "by": "manager"}, "host")
        assert body["merge"] == "m1" and (body["a"], body["b"]) == ("r1", "r4")
        merged = box.stored()
        assert len(merged) == 1
        (one,) = merged.values()
        assert sorted(one["reservations"]) == ["r1", "r2", "r3", "r4", "r5"]
        assert one["merges"] == ["m1"] and one["summary"]["visits"] == 5
        assert one["spend"] == "395.75"  # both histories: 340.75 + 55.00
        assert merged == _full_build(config)
        # the same merge again, or undoing one that is not there, is refused
        await box.put("guest.merge", at, {"a": "r1", "b": "r4"}, "host", ok=False)
        await box.put("guest.unmerge", at, {"merge": "m9"}, "host", ok=False)
        await box.put("guest.unmerge", at + timedelta(minutes=1), {"merge": "m1"}, "host")
        assert box.stored() == separate  # exactly as before, history and all
        await box.put("guest.unmerge", at, {"merge": "m1"}, "host", ok=False)
        rows = box.engine.store.db.execute(
            "SELECT merge, a, b, by, undone IS NOT NULL FROM profile_merges"
        ).fetchall()
        assert rows == [("m1", "r1", "r4", "manager", 1)]
    # the log holds the merges: a restart rebuilds the same profiles
    assert _full_build(config) == separate
    profiles.rebuild(config)
    store = Store(config.store.path)
    store.open_readonly()
    try:
        assert profiles.stored(store.db) == separate
    finally:
        store.close(clean=False)
