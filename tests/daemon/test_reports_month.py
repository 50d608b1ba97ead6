"""Every named report over a generated month of service, against answers the generator knows
(tests/report_month.py), read from a real store's closed-checks projection and through the CLI."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from report_month import (
    DAYS,
    FIRST,
    TABLES,
    TZ,
    Booking,
    Visit,
    Wait,
    bookings,
    config_for,
    config_text,
    month,
    waits,
    write_bookings,
    write_waits,
)

from floorlink.daemon.cli import main
from floorlink.daemon.config import Config
from floorlink.daemon.report import REPORTS, Period, load_period, report_json
from floorlink.daemon.store import Store

LAST = FIRST + timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def visits() -> list[Visit]:
    return month()


@pytest.fixture(scope="module")
def booked(visits: list[Visit]) -> dict[str, Booking]:
    return bookings(visits)


@pytest.fixture(scope="module")
def waited(visits: list[Visit], booked: dict[str, Booking]) -> list[Wait]:
    return waits(visits, booked)


@pytest.fixture(scope="module")
def config(
    tmp_path_factory: pytest.TempPathFactory,
    visits: list[Visit],
    booked: dict[str, Booking],
    waited: list[Wait],
) -> Config:
    config = config_for(tmp_path_factory.mktemp("month") / "f.db")
    store = Store(config.store.path)
    store.open()
    store.begin()
    store.write_closed_checks(v.row(n) for n, v in enumerate(visits, start=1))
    write_bookings(store.db, visits, booked)
    write_waits(store.db, waited)
    store.commit()
    store.close()
    return config


@pytest.fixture(scope="module")
def period(config: Config) -> Period:
    return load_period(config, FIRST, LAST)


def paid(visits: list[Visit]) -> list[Visit]:
    return [v for v in visits if not v.void]


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def per(cents: int, n: int) -> str:
    """cents / n to the cent, half to even (the reports' rounding)."""
    return f"{(Decimal(cents) / 100 / n).quantize(Decimal('0.01')):.2f}"


def json_rows(period: Period, name: str) -> list[list[object]]:
    out = REPORTS[name](period).to_json()
    json.dumps(out)
    rows: list[list[object]] = out["rows"]
    return rows


def test_the_month_is_what_the_generator_made(visits: list[Visit], period: Period) -> None:
    assert len(visits) == DAYS * (2 * len(TABLES) + 1)
    assert len(period.checks) == len(paid(visits)) and period.voided == sum(v.void for v in visits)
    # every late check that paid after midnight sits on the night it was seated
    assert {c.number: c.day for c in period.checks} == {v.check: v.day for v in paid(visits)}
    assert any(v.closed > v.opened and v.table == "7" for v in paid(visits))


def test_summary(visits: list[Visit], period: Period) -> None:
    p = paid(visits)
    figures = {str(k): v for k, v, _why in json_rows(period, "summary")}
    revenue = sum(v.cents for v in p)
    covers = sum(v.covers for v in p)
    assert figures["checks"] == len(p) and figures["covers"] == covers
    assert figures["revenue"] == money(revenue)
    assert figures["tips"] == money(sum(v.tip_cents for v in p))
    assert figures["average check"] == per(revenue, len(p))
    assert figures["average per cover"] == per(revenue, covers)
    assert figures["turns per table"] == per(len(p) * 100, len(TABLES) * DAYS)
    # pinned: the seed's month, so a change in the generator or the sums shows up here
    assert (figures["checks"], figures["voided"], figures["covers"]) == (436, 14, 952)
    assert (figures["revenue"], figures["average check"]) == ("38445.45", "88.18")


def test_turns_and_covers_by_party_size(visits: list[Visit], period: Period) -> None:
    by: dict[int, list[Visit]] = defaultdict(list)
    for v in paid(visits):
        by[v.covers].append(v)
    rows = json_rows(period, "turns")
    assert [r[0] for r in rows] == sorted(by)
    for size, turns, mean, _median, per_table in rows:
        assert isinstance(size, int)
        group = by[size]
        assert turns == len(group)
        minutes = sum((v.closed - v.opened) // 60_000 for v in group)
        assert mean == per(minutes * 100, len(group))
        assert per_table == per(len(group) * 100, len(TABLES) * DAYS)
    covers = json_rows(period, "covers")
    assert covers[-1] == ["all", len(paid(visits)), sum(v.covers for v in paid(visits))]


def test_turn_phases(visits: list[Visit], period: Period) -> None:
    rows = {(r[0], r[1]): r for r in json_rows(period, "phases")}
    p = paid(visits)
    with_apps = [v for v in p if v.apps or v.entrees]
    assert rows[("seated", "first course fired")][2] == len(with_apps)
    entrees = [v for v in p if v.entrees]
    gap = sum((v.printed or 0) - (v.entrees or 0) for v in entrees) // 60_000
    assert rows[("entrees fired", "check dropped")][2:4] == [
        len(entrees),
        per(gap * 100, len(entrees)),
    ]
    assert rows[("check dropped", "paid")][2:] == [len(p), "8.00", "8.00"]
    assert rows[("paid", "cleared")][2:] == [0, None, None]
    text = REPORTS["phases"](period).render()
    assert "None" not in text and "— mean minutes:" in text


def _grouped(visits: list[Visit], key: Callable[[Visit], str]) -> dict[str, list[Visit]]:
    out: dict[str, list[Visit]] = defaultdict(list)
    for v in paid(visits):
        out[key(v)].append(v)
    return out


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("sections", lambda v: v.section),
        ("servers", lambda v: v.server),
        ("tables", lambda v: v.table),
    ],
)
def test_revenue_by(
    visits: list[Visit], period: Period, name: str, key: Callable[[Visit], str]
) -> None:
    groups = _grouped(visits, key)
    rows = json_rows(period, name)
    assert [r[0] for r in rows] == sorted(groups)
    for k, checks, covers, revenue, tips, per_cover, _share in rows:
        g = groups[str(k)]
        assert (checks, covers) == (len(g), sum(v.covers for v in g))
        assert revenue == money(sum(v.cents for v in g))
        assert tips == money(sum(v.tip_cents for v in g))
        assert per_cover == per(sum(v.cents for v in g), sum(v.covers for v in g))
    assert sum(Decimal(str(r[3])) for r in rows) == Decimal(
        money(sum(v.cents for v in paid(visits)))
    )


def test_spend_per_person_by_party_size(visits: list[Visit], period: Period) -> None:
    groups = _grouped(visits, lambda v: str(v.covers))
    for size, checks, covers, revenue, per_person in json_rows(period, "per-person"):
        g = groups[str(size)]
        assert (checks, covers, revenue) == (
            len(g),
            sum(v.covers for v in g),
            money(sum(v.cents for v in g)),
        )
        assert per_person == per(sum(v.cents for v in g), sum(v.covers for v in g))


def test_per_cover_revenue_by_reservation_slot(
    visits: list[Visit], booked: dict[str, Booking], period: Period
) -> None:
    groups = _grouped(visits, lambda v: booked[v.check].slot if v.check in booked else "walk-in")
    rows = json_rows(period, "slots")
    assert [r[0] for r in rows] == sorted(groups, key=lambda k: (k == "walk-in", k))
    assert rows[-1][0] == "walk-in" and len(rows) > 4
    for slot, checks, covers, revenue, per_cover, average in rows:
        g = groups[str(slot)]
        cents, n = sum(v.cents for v in g), sum(v.covers for v in g)
        assert (checks, covers, revenue) == (len(g), n, money(cents))
        assert (per_cover, average) == (per(cents, n), per(cents, len(g)))


def test_average_spend_of_online_phone_and_walk_in_guests(
    visits: list[Visit], booked: dict[str, Booking], period: Period
) -> None:
    def source(v: Visit) -> str:
        b = booked.get(v.check)
        return "walk-in" if b is None or b.source == "walk_in" else b.source

    groups = _grouped(visits, source)
    rows = json_rows(period, "sources")
    assert [r[0] for r in rows] == ["online", "phone", "walk-in"]
    for src, checks, covers, revenue, average, per_cover, _share in rows:
        g = groups[str(src)]
        cents, n = sum(v.cents for v in g), sum(v.covers for v in g)
        assert (checks, covers, revenue) == (len(g), n, money(cents))
        assert (average, per_cover) == (per(cents, len(g)), per(cents, n))
    # pinned: a change in the generator or the sums shows up here
    assert [(r[0], r[1], r[4]) for r in rows] == PINNED_SOURCES


PINNED_SOURCES = [("online", 131, "95.21"), ("phone", 79, "84.27"), ("walk-in", 226, "85.47")]


def test_guests_by_lifetime_value(
    visits: list[Visit], booked: dict[str, Booking], period: Period, config: Config
) -> None:
    spend: dict[int, list[Visit]] = defaultdict(list)
    for v in paid(visits):
        if v.check in booked:
            spend[booked[v.check].guest].append(v)
    rows = json_rows(period, "lifetime")
    assert len(rows) == len(spend)  # fewer than the report's top 100
    expected = sorted(spend.items(), key=lambda kv: -sum(v.cents for v in kv[1]))
    got = [(r[3], r[6]) for r in rows]
    assert got == [(len(vs), money(sum(v.cents for v in vs))) for _, vs in expected]
    for rank, _guest, name, n, first, last, total, average, in_period in rows:
        assert isinstance(rank, int) and str(name).startswith("Guest ")
        (g,) = {i for i, vs in spend.items() if f"Guest {i}" == name}
        vs = spend[g]
        assert first == min(v.day for v in vs).isoformat()
        assert last == max(v.day for v in vs).isoformat()
        assert average == per(sum(v.cents for v in vs), len(vs)) and in_period == total
        assert n == len(vs)
    # a week: lifetime counts every visit up to its end, the period only that week's
    week = load_period(config, FIRST + timedelta(days=7), FIRST + timedelta(days=13))
    for _rank, _guest, name, n, first, last, total, _avg, in_period in json_rows(week, "lifetime"):
        g = int(str(name).split()[1])
        upto = [v for v in spend[g] if v.day <= FIRST + timedelta(days=13)]
        inside = [v for v in upto if v.day >= FIRST + timedelta(days=7)]
        assert inside and (n, total) == (len(upto), money(sum(v.cents for v in upto)))
        assert (first, last) == (min(upto, key=lambda v: v.day).day.isoformat(),
                                 max(upto, key=lambda v: v.day).day.isoformat())  # fmt: skip
        assert in_period == money(sum(v.cents for v in inside))


def test_quote_accuracy_per_night(waited: list[Wait], period: Period) -> None:
    def mean(xs: list[int]) -> str:
        return f"{(Decimal(sum(xs)) / len(xs)).quantize(Decimal('0.01')):.2f}"

    rows = json_rows(period, "quotes")
    nights = {r[0] for r in rows} - {"all"}
    assert nights == {w.day.isoformat() for w in waited}  # seated after midnight: the night
    for day, size, parties, mae, bias, within in rows:
        ws = [w for w in waited if day in ("all", w.day.isoformat())
              and size in ("all", str(w.size))]  # fmt: skip
        assert parties == len(ws), (day, size)
        assert mae == mean([abs(w.quoted - w.waited) for w in ws]), (day, size)
        assert bias == mean([w.quoted - w.waited for w in ws]), (day, size)
        near = Decimal(sum(abs(w.quoted - w.waited) <= 3 for w in ws) * 100) / len(ws)
        assert Decimal(str(within)) == near.quantize(Decimal("0.1")), (day, size)
    assert rows[-1][:3] == ["all", "all", len(waited)]


def test_revpash_per_hour_and_per_day(visits: list[Visit], period: Period) -> None:
    seats = sum(s for _, s, _ in TABLES)
    rows = json_rows(period, "revpash")
    assert [r[0] for r in rows] == ["18:00", "20:00", "23:00"]
    hours = _grouped(visits, lambda v: f"{datetime.fromtimestamp(v.opened / 1000, TZ).hour:02d}:00")
    for hour, checks, revenue, revpash in rows:
        g = hours[str(hour)]
        assert (checks, revenue) == (len(g), money(sum(v.cents for v in g)))
        assert revpash == per(sum(v.cents for v in g), seats * DAYS)
    days = json_rows(period, "revpash-days")
    assert [r[0] for r in days] == [(FIRST + timedelta(days=d)).isoformat() for d in range(DAYS)]
    nov3 = _grouped(visits, lambda v: v.day.isoformat())["2026-11-03"]
    span_ms = max(v.closed for v in nov3) - min(v.opened for v in nov3)
    row = days[2]
    assert row[1:3] == [len(nov3), money(sum(v.cents for v in nov3))]
    expected = Decimal(sum(v.cents for v in nov3)) / 100 / (seats * Decimal(span_ms) / 3_600_000)
    assert row[4] == f"{expected.quantize(Decimal('0.01')):.2f}"


def test_cover_flow_per_quarter_hour(visits: list[Visit], period: Period) -> None:
    def quarter(v: Visit) -> str:
        at = datetime.fromtimestamp(v.opened / 1000, TZ)
        return f"{at.hour:02d}:{at.minute // 15 * 15:02d}"

    groups = _grouped(visits, quarter)
    rows = json_rows(period, "flow")
    assert sorted(str(r[0]) for r in rows) == sorted(groups)
    for start, checks, covers in rows:
        assert (checks, covers) == (
            len(groups[str(start)]),
            sum(v.covers for v in groups[str(start)]),
        )


def test_accounting_export_is_csv_per_day(
    config: Config, visits: list[Visit], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "accounting", "--config", _path(config), "--since", FIRST.isoformat(),
                 "--until", LAST.isoformat(), "--csv"])  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert set(rows[0]) == {"day", "kind", "key", "checks", "covers", "revenue", "tips"}
    for kind in ("table", "section", "server"):
        total = sum(Decimal(r["revenue"]) for r in rows if r["kind"] == kind)
        assert total == Decimal(money(sum(v.cents for v in paid(visits))))
    nov5_server = {r["key"]: r for r in rows if r["day"] == "2026-11-05" and r["kind"] == "server"}
    g = _grouped([v for v in visits if v.day == date(2026, 11, 5)], lambda v: v.server)
    assert {k: r["revenue"] for k, r in nov5_server.items()} == {
        k: money(sum(v.cents for v in vs)) for k, vs in g.items()
    }


def _path(config: Config) -> str:
    """A config file for the CLI with the same content as `config`."""
    path = Path(config.store.path).with_suffix(".toml")
    path.write_text(config_text(Path(config.store.path), config.reports.day_starts))
    return str(path)


def test_the_json_for_the_page(config: Config, visits: list[Visit]) -> None:
    out = report_json(config, "sections", FIRST, LAST)
    assert out["columns"][0] == "section" and [r[0] for r in out["rows"]] == [
        "bar",
        "main",
        "patio",
    ]
    assert json.loads(json.dumps(out)) == out
    with pytest.raises(KeyError):
        report_json(config, "nope", FIRST)
