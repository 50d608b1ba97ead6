"""Guest profiles from a real store's log: matching by phone and email, the name only as a
tie-break, visits from the linked checks, the indexed lookup, and the CLI's show and export."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from guests_support import NIGHT, TZ, VISITS, _res

from floorlink.daemon import profiles
from floorlink.daemon.app import build_state
from floorlink.daemon.cli import main
from floorlink.daemon.config import Config, parse_config
from floorlink.daemon.core.reservations import ReservationsPart, guest_payload
from floorlink.daemon.core.state import Input
from floorlink.daemon.engine import Engine
from floorlink.daemon.store import Store


def _config(tmp_path: Path) -> Config:
    text = (
        f'[site]\nid = "s"\ntimezone = "America/Chicago"\ncountry = "US"\n'
        f'[store]\npath = "{tmp_path / "f.db"}"\n[http]\nstaff_token = "long-enough-token"\n'
        '[[tables]]\nid = "1"\nseats = 4\n[[tables]]\nid = "2"\nseats = 2\n'
    )
    (tmp_path / "f.toml").write_text(text)
    return parse_config(text, {})


async def _serve(config: Config) -> None:
    clock = [0]  # the box's clock follows the service being replayed
    engine = Engine(
        Store(config.store.path),
        lambda: build_state(config),
        clock=lambda: clock[0],
        projections=[profiles.LiveProfiles.of(config)],
    )
    await engine.open()
    runner = asyncio.create_task(engine.run())
    n = 0

    async def put(etype: str, at: datetime, data: dict[str, Any], source: str = "pos:T") -> None:
        nonlocal n
        n += 1
        clock[0] = int(at.timestamp() * 1000)
        out = await engine.submit(Input(source, f"e{n}", etype, int(at.timestamp() * 1000), data))
        assert out.outcome.result == "accepted", (etype, out.outcome)

    reservations = [_res(rid, day, **guest) for rid, day, guest, _, _ in VISITS]
    await put("cloud.pulled", NIGHT - timedelta(days=1), {"reservations": reservations,
                                                          "cursor": "1"}, "cloud")  # fmt: skip
    for rid, day, _, total, items in VISITS:
        at = NIGHT + timedelta(days=day)
        check = f"C-{rid}"
        await put("reservation.arrive", at, {"reservation": rid, "table": "2"}, "host")
        await put("check.opened", at, {"check": check, "table": "2", "guests": 2})
        if items:
            await put(
                "check.items_added", at + timedelta(minutes=5), {"check": check, "items": items}
            )
        await put("reservation.link", at + timedelta(minutes=6),
                  {"reservation": rid, "check": check, "by": "host"}, "host")  # fmt: skip
        await put("check.closed", at + timedelta(minutes=70), {"check": check, "total": total})
        await put("host.cleared", at + timedelta(minutes=80), {"table": "2"}, "host")
    runner.cancel()
    await engine.close()


async def test_profiles_match_by_phone_and_email_with_the_name_as_tie_break(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    await _serve(config)
    built = {tuple(p.reservations): p for p in profiles.rebuild(config)}
    assert set(built) == {("r1", "r5", "r2", "r3"), ("r4",)}
    ana = built[("r1", "r5", "r2", "r3")]
    assert ana.phones == {"+13125550101"} and ana.emails == {"ana@example.com"}
    assert ana.vip and ana.allergies == "shellfish" and ana.spend_cents == 34075
    assert ana.summary() == {
        "visits": 4,
        "last_visit": "2026-11-16",
        "average_check": "85.19",  # 340.75 / 4
        "favourites": ["ribeye", "soup", "tart"],
        "allergies": "shellfish",
        "vip": True,
    }
    # the lookup on seating: any spelling of her number, or her email
    db = Store(config.store.path)
    db.open()
    try:
        for phone, email in (
            ("312-555-0101", None),
            ("+13125550101", None),
            (None, "ANA@example.com"),
        ):
            found = profiles.lookup(db.db, phone, email, "US")
            assert found is not None and found["id"] == ana.id
        assert profiles.lookup(db.db, "312-555-0199", "nobody@example.com", "US") is None
        plan = " ".join(
            str(r[-1])
            for r in db.db.execute(
                "EXPLAIN QUERY PLAN SELECT p.data FROM profile_keys k JOIN profiles p"
                " ON p.id = k.profile WHERE k.key = ?",
                ("phone:+13125550101",),
            )
        )
        assert "USING INDEX" in plan or "USING PRIMARY KEY" in plan
    finally:
        db.close()
    toml = str(tmp_path / "f.toml")
    assert main(["guest", "show", "--config", toml, "--phone", "(312) 555-0101"]) == 0
    shown = capsys.readouterr().out
    assert "VIP" in shown and "85.19" in shown and "ribeye, soup, tart" in shown
    assert main(["guest", "export", "--config", toml, "--email", "ana@example.com"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert sorted(exported["reservations"]) == ["r1", "r2", "r3", "r5"]
    assert sorted(exported["checks"]) == ["C-r1", "C-r2", "C-r3", "C-r5"]
    assert exported["profile"]["spend"] == "340.75"
    assert main(["guest", "show", "--config", toml, "--phone", "555"]) == 1


def test_two_guests_with_one_name_and_no_contact_are_never_guessed() -> None:
    res = {
        "a": {"time": "1", "guest": {"name": "Sam Lee", "phone": "+13125550111"}},
        "b": {"time": "2", "guest": {"name": "Sam Lee", "email": "other@example.com"}},
        "c": {"time": "3", "guest": {"name": "sam  lee"}},
    }
    built = profiles.build_profiles(res, {}, {}, "US", TZ)
    assert sorted(p.reservations for p in built) == [["a"], ["b"], ["c"]]


async def test_the_pos_guest_topic_gets_the_exact_visit_summary(tmp_path: Path) -> None:
    """The guest object of contract section 4, folded with the events: Ana's visits under any
    spelling of her number or email, the money exact."""
    config = _config(tmp_path)
    await _serve(config)
    store = Store(config.store.path)
    store.open()
    try:
        state = build_state(config)
        for event in store.events():
            state.apply(event)
    finally:
        store.close()
    part = state.part("reservations")
    assert isinstance(part, ReservationsPart)
    assert part.completed == {"r1", "r2", "r3", "r4", "r5"}
    for rid in ("r1", "r2", "r3", "r5"):
        payload = guest_payload(part, "2", rid)
        assert payload is not None
        assert {k: payload[k] for k in ("visits", "last_visit", "average_check", "favourites")} == {
            "visits": 4,
            "last_visit": "2026-11-16",
            "average_check": "85.19",
            "favourites": ["ribeye", "soup", "tart"],
        }, rid
    bo = guest_payload(part, "2", "r4")
    assert bo is not None and (bo["visits"], bo["average_check"]) == (1, "55.00")
