"""`floorlink report` over a real store written by the engine."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from floorlink.daemon.app import build_state
from floorlink.daemon.cli import main
from floorlink.daemon.config import Config, parse_config
from floorlink.daemon.core.state import Input
from floorlink.daemon.engine import Engine
from floorlink.daemon.report import (
    REPORTS,
    default_day,
    load_period,
    render,
    service_day_of,
    service_report,
)
from floorlink.daemon.store import Store


async def test_a_night_in_numbers(tmp_path: Path) -> None:
    config = parse_config(
        f'[site]\nid = "s"\ntimezone = "UTC"\n[store]\npath = "{tmp_path / "f.db"}"\n'
        '[http]\nstaff_token = "long-enough-token"\n'
        '[[tables]]\nid = "1"\nseats = 4\n[[tables]]\nid = "2"\nseats = 2\n',
        {},
    )
    engine = Engine(Store(config.store.path), lambda: build_state(config))
    await engine.open()
    runner = asyncio.create_task(engine.run())
    t0 = int(datetime(2026, 11, 20, 19, tzinfo=UTC).timestamp() * 1000)
    steps: list[tuple[str, int, dict[str, Any]]] = [
        ("check.opened", 0, {"check": "A", "table": "1", "guests": 4}),
        ("check.opened", 5, {"check": "B", "table": "2", "guests": 2}),
        ("check.closed", 80, {"check": "A", "total": "200.00", "tip": "40.00"}),
        ("check.closed", 65, {"check": "B", "total": "60.00"}),
        ("check.opened", 90, {"check": "C", "table": "1", "guests": 3}),
        ("check.voided", 91, {"check": "C"}),
    ]
    for n, (etype, minute, data) in enumerate(steps):
        await engine.submit(Input("pos:T", f"e{n}", etype, t0 + minute * 60_000, data))
    runner.cancel()
    await engine.close()
    report = service_report(config, datetime(2026, 11, 20).date())
    assert report["checks"] == 2 and report["voided"] == 1 and report["covers"] == 6
    assert report["revenue"] == "260.00" and report["average_check"] == "130.00"
    assert report["turns_per_table"] == 1.0
    # 260 over 6 seats and 80 minutes of service (counted as at least an hour): 260 / (6 * 1.33)
    assert report["revpash"] == "32.50"
    json.dumps(report)


def _config(tmp_path: Path, extra: str = "") -> Config:
    text = (
        '[site]\nid = "s"\ntimezone = "America/Los_Angeles"\n'
        f'[store]\npath = "{tmp_path / "f.db"}"\n'
        f'[http]\nstaff_token = "long-enough-token"\n{extra}'
        '[[tables]]\nid = "1"\nseats = 4\n[[tables]]\nid = "2"\nseats = 2\n'
    )
    (tmp_path / "f.toml").write_text(text)
    return parse_config(text, {})


async def _serve(config: Config, steps: list[tuple[str, datetime, dict[str, Any]]]) -> None:
    engine = Engine(Store(config.store.path), lambda: build_state(config))
    await engine.open()
    runner = asyncio.create_task(engine.run())
    for n, (etype, at, data) in enumerate(steps):
        await engine.submit(Input("pos:T", f"e{n}", etype, int(at.timestamp() * 1000), data))
    runner.cancel()
    await engine.close()


async def test_after_midnight_the_report_is_the_night_that_just_ended(tmp_path: Path) -> None:
    """The first user's run at 02:32 after close printed an empty calendar day: the default is
    now the service day that just ended, and a check paid at 00:40 belongs to it."""
    config = _config(tmp_path)
    la = ZoneInfo("America/Los_Angeles")
    night = datetime(2026, 11, 20, 19, tzinfo=la)
    await _serve(
        config,
        [
            ("check.opened", night, {"check": "A", "table": "1", "guests": 4}),
            ("check.closed", night + timedelta(hours=2), {"check": "A", "total": "180.00"}),
            ("check.opened", night + timedelta(hours=4), {"check": "B", "table": "2", "guests": 2}),
            (
                "check.closed",
                night + timedelta(hours=5, minutes=40),
                {"check": "B", "total": "70.50"},
            ),
        ],
    )
    after_close = datetime(2026, 11, 21, 2, 32, tzinfo=la)
    cutoff = config.reports.cutoff
    day = default_day(int(after_close.timestamp() * 1000), la, cutoff)
    assert day == date(2026, 11, 20)
    report = service_report(config, day)
    assert (report["checks"], report["covers"], report["revenue"]) == (2, 6, "250.50")
    # later the next day the default is still last night; `today` would be the new service day
    noon = int(datetime(2026, 11, 21, 12, tzinfo=la).timestamp() * 1000)
    assert default_day(noon, la, cutoff) == date(2026, 11, 20)
    assert service_day_of(noon, la, cutoff) == date(2026, 11, 21)
    assert service_day_of(int(after_close.timestamp() * 1000), la, cutoff) == date(2026, 11, 20)


async def test_the_cutoff_is_configurable(tmp_path: Path) -> None:
    config = _config(tmp_path, '[reports]\nday_starts = "00:30"\n')
    la = ZoneInfo("America/Los_Angeles")
    night = datetime(2026, 11, 20, 22, tzinfo=la)
    await _serve(
        config,
        [
            ("check.opened", night, {"check": "A", "table": "1", "guests": 4}),
            (
                "check.closed",
                night + timedelta(hours=2, minutes=40),
                {"check": "A", "total": "9.99"},
            ),
        ],
    )
    # paid at 00:40, after a 00:30 cutoff: the 21st's service day, not the 20th's
    assert service_report(config, date(2026, 11, 20))["checks"] == 0
    assert service_report(config, date(2026, 11, 21))["revenue"] == "9.99"


async def test_an_empty_day_reads_a_dash_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    await _serve(config, [])
    toml = str(tmp_path / "f.toml")
    assert main(["report", "--config", toml, "--day", "2026-11-20"]) == 0
    text = capsys.readouterr().out
    assert "None" not in text
    [line] = [ln for ln in text.splitlines() if ln.startswith("average check ")]
    assert line.split()[2:] == ["—", "no", "paid", "checks", "in", "the", "period"]
    for name in REPORTS:
        assert main(["report", name, "--config", toml, "--day", "2026-11-20"]) == 0
        out = capsys.readouterr().out
        assert "None" not in out, name
        assert "—" in out or name == "covers", name  # covers: zero is the answer
        assert main(["report", name, "--config", toml, "--day", "2026-11-20", "--json"]) == 0
        json.loads(capsys.readouterr().out)
    old = service_report(config, date(2026, 11, 20))
    assert (
        old["average_check"] is None
        and old["why"]["average_check"] == "no paid checks in the period"
    )
    assert "None" not in render(old) and "—" in render(old)


async def test_quote_accuracy_per_night_and_party_size(tmp_path: Path) -> None:
    """Two parties quoted and seated, one gone home: MAE, bias and the share within 3 minutes of
    quote against added-to-seated, per party size and for the night (`floorlink report quotes`)."""
    config = parse_config(
        f'[site]\nid = "s"\ntimezone = "UTC"\n[store]\npath = "{tmp_path / "f.db"}"\n'
        '[http]\nstaff_token = "long-enough-token"\n'
        '[[tables]]\nid = "1"\nseats = 4\n[[tables]]\nid = "2"\nseats = 2\n',
        {},
    )
    engine = Engine(Store(config.store.path), lambda: build_state(config))
    await engine.open()
    runner = asyncio.create_task(engine.run())
    t0 = int(datetime(2026, 11, 20, 19, tzinfo=UTC).timestamp() * 1000)
    minute = 60_000

    async def put(source: str, eid: str, etype: str, at: int, **data: Any) -> Any:
        res = await engine.submit(Input(source, eid, etype, t0 + at * minute, data))
        assert res.outcome.result == "accepted", res.outcome.error
        return res.outcome

    for n, table in enumerate(("1", "2")):
        await put("pos:T", f"o{n}", "check.opened", 0, check=f"c{n}", table=table, guests=2)
    added = []
    for n, size in enumerate((4, 2, 2)):
        out = await put("host", f"a{n}", "waitlist.add", 1, name=f"p{n}", party_size=size)
        added.append(out.body["entry"])
    await put("pos:T", "x0", "check.closed", 50, check="c0", total="1.00")
    await put("pos:T", "x1", "check.closed", 55, check="c1", total="1.00")
    for n, (entry, table, at) in enumerate(((added[0], "1", 52), (added[1], "2", 57))):
        await put("pos:T", f"k{n}", "table.cleared", at, table=table)
        await put("host", f"s{n}", "waitlist.seat", at, entry=entry, table=table)
    await put("host", "gone", "waitlist.left", 70, entry=added[2])
    part = engine.state.part("waitlist")
    quotes = [part.entries[e].quoted_minutes for e in added[:2]]  # type: ignore[attr-defined]
    runner.cancel()
    await engine.close()
    day = date(2026, 11, 20)
    got = REPORTS["quotes"](load_period(config, day, day)).to_json()
    errs = [quotes[0] - 51, quotes[1] - 56]
    rows = {(r[0], r[1]): r[2:] for r in got["rows"]}
    assert set(rows) == {("2026-11-20", "2"), ("2026-11-20", "4"), ("2026-11-20", "all")}
    parties, mae, bias, within = rows[("2026-11-20", "all")]
    assert parties == 2  # the party that went home is not a quote kept or missed
    assert Decimal(mae) == Decimal(sum(abs(e) for e in errs)) / 2
    assert Decimal(bias) == Decimal(sum(errs)) / 2
    assert Decimal(within) == Decimal(50 * sum(1 for e in errs if abs(e) <= 3))
    assert rows[("2026-11-20", "4")][:3] == [1, f"{abs(errs[0])}.00", f"{errs[0]}.00"]
    assert "party size" in REPORTS["quotes"](load_period(config, day, day)).render()
