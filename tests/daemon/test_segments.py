"""Campaign segments over profiles with known answers, and the CLI's CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from test_profiles import _config, _serve

from floorlink.daemon.cli import main
from floorlink.daemon.config import Segments
from floorlink.daemon.profiles import Profile, Visit
from floorlink.daemon.segments import SEGMENTS, to_csv

TODAY = date(2026, 12, 20)  # a Sunday


def _p(pid: str, visits: list[tuple[str, int, bool]], birthday: str | None = None) -> Profile:
    return Profile(
        id=pid,
        name=pid.upper(),
        birthday=birthday,
        visits=[
            Visit(f"{pid}{n}", "r", d, 2, c, {}, dessert)
            for n, (d, c, dessert) in enumerate(visits)
        ],
    )


PROFILES = [
    # big spender, last seen 70 days ago: absent
    _p("a", [("2026-10-09", 40_000, True), ("2026-10-10", 20_000, True),
             ("2026-10-16", 1, True)], "1980-12-03"),
    # big spender seen last week: not absent
    _p("b", [("2026-12-11", 90_000, False)]),
    # small spender, absent
    _p("c", [("2026-09-04", 5_000, True)], "12-25"),
    # three Fridays, dessert twice of three
    _p("d", [("2026-11-27", 3_000, True), ("2026-12-04", 3_000, False),
             ("2026-12-18", 3_000, True)], "1990-01-12"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "arg", "expected"),
    [
        ("high-spenders-absent", "", ["a"]),
        ("always-dessert", "", ["a"]),
        ("weekday-regulars", "fri", ["d"]),  # a: two Fridays and a Saturday
        ("weekday-regulars", "sun", []),
        ("birthdays", "", ["a", "c"]),
    ],
)
def test_segments_with_known_answers(name: str, arg: str, expected: list[str]) -> None:
    got = SEGMENTS[name](PROFILES, Segments(), TODAY, arg)
    assert sorted(p.id for p in got) == expected


def test_thresholds_are_settings_and_a_bad_weekday_is_an_error() -> None:
    cheap = Segments(high_spend="50.00", absent_days=30, min_visits=1)
    got = SEGMENTS["high-spenders-absent"](PROFILES, cheap, TODAY, "")
    assert sorted(p.id for p in got) == ["a", "c"]  # d spent enough but came last week
    with pytest.raises(ValueError, match="--weekday"):
        SEGMENTS["weekday-regulars"](PROFILES, Segments(), TODAY, "friday")
    rows = list(csv.DictReader(io.StringIO(to_csv(PROFILES[:2]))))
    assert [(r["profile"], r["spend"], r["visits"]) for r in rows] == [
        ("b", "900.00", "1"),
        ("a", "600.01", "3"),
    ]


async def test_the_cli_writes_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    await _serve(config)
    toml = str(tmp_path / "f.toml")
    # Ana visited on Mondays (Nov 2, 9, 16) and once on a Wednesday (Nov 4)
    assert main(["segment", "weekday-regulars", "--config", toml, "--weekday", "mon"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["name"], r["phone"], r["visits"], r["spend"]) for r in rows] == [
        ("Ana Ruiz", "+13125550101", "4", "340.75")
    ]
    assert main(["segment", "weekday-regulars", "--config", toml, "--weekday", "x"]) == 2
