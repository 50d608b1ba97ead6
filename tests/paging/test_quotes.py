"""The quote model: the censored estimator against known answers, shrinkage, live signals, and
the property that estimates are never negative and never depend on the order events came in."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

from helpers import MIN, SPECS, T0, TZ
from hypothesis import given, settings
from hypothesis import strategies as st

from floorlink.daemon.core.closed_checks import ClosedChecksPart
from floorlink.daemon.core.quotes import (
    BUSSING_MIN,
    DEFAULT_TURN,
    LogNormal,
    Open,
    TableView,
    TurnTimes,
    fit,
    fit_buckets,
    fit_censored,
    quote_minutes,
)
from floorlink.daemon.core.state import Input, State
from floorlink.daemon.core.waitlist import WaitlistPart, estimates

TABLES = tuple(TableView(s.id, s.seats) for s in SPECS)  # 1:4, 2:2, 3:6, 12:4
FLAT = LogNormal(0.0, 1.0)


def lognormal_sample(mu: float, sigma: float, n: int) -> list[float]:
    """n stays at evenly spaced quantiles: a sample with exactly this shape, no randomness."""
    z = NormalDist()
    return [math.exp(mu + sigma * z.inv_cdf((i + 0.5) / n)) for i in range(n)]


def test_uncensored_with_no_prior_is_the_mean_and_spread_of_the_logs() -> None:
    stays = [40.0, 50.0, 60.0, 80.0]
    logs = [math.log(v) for v in stays]
    mu = sum(logs) / 4
    sigma = math.sqrt(sum((x - mu) ** 2 for x in logs) / 4)
    got = fit_censored(stays, [], FLAT, weight=0)
    assert math.isclose(got.mu, mu, abs_tol=1e-6) and math.isclose(got.sigma, sigma, abs_tol=1e-6)


def test_censored_stays_recover_the_true_turn_where_closed_checks_alone_are_short() -> None:
    """Early in a night: 200 tables seated, looked at when only the quick ones have paid (all
    stays past 70 minutes are still open). The true turn is 70 min (log-normal, sigma 0.2)."""
    mu, sigma = math.log(70), 0.2
    stays = lognormal_sample(mu, sigma, 200)
    closed = [v for v in stays if v <= 70]
    still_open = [70.0] * (len(stays) - len(closed))
    naive = fit_censored(closed, [], FLAT, weight=0)
    censored = fit_censored(closed, still_open, FLAT, weight=0)
    assert naive.mean < 61  # the night-1 bias: only the quick tables count
    assert abs(censored.mu - mu) < 0.01 and abs(censored.sigma - sigma) < 0.01
    assert abs(censored.mean - LogNormal(mu, sigma).mean) < 1.0


def test_only_open_tables_still_say_the_stay_is_longer_than_seen() -> None:
    got = fit_censored([], [90.0] * 5, LogNormal(math.log(60), 0.25), weight=6)
    assert got.mean > 90 * 0.95 and got.mean > LogNormal(math.log(60), 0.25).mean


def test_thin_buckets_shrink_toward_the_restaurants_pattern() -> None:
    """Twos run 20 % under the defaults with plenty of data; two odd sixes of 200 minutes do not
    make a six a 200-minute turn: it sits near its default scaled by the restaurant's 20 %."""
    twos = lognormal_sample(math.log(DEFAULT_TURN[2] * 0.8), 0.2, 80)
    fits = fit_buckets({2: twos, 6: [200.0, 200.0]}, {}, DEFAULT_TURN)
    assert abs(fits[2].mean / (DEFAULT_TURN[2] * 0.8 * math.exp(0.02)) - 1) < 0.03
    assert DEFAULT_TURN[6] * 0.8 < fits[6].mean < 140
    many = fit_buckets({6: [200.0] * 80}, {}, DEFAULT_TURN)
    assert 185 < many[6].mean < 215  # with enough of its own data a bucket is its data


def test_remaining_time_is_the_conditional_mean() -> None:
    d = LogNormal(math.log(70), 0.2)
    assert math.isclose(d.remaining(0), d.mean)
    assert d.remaining(10) > d.mean - 10.5  # a table just seated has nearly a turn to go
    assert 0 < d.remaining(150) < 30  # far past its turn: it pays soon, never negative
    lengths = [d.remaining(e) + e for e in (10, 40, 70, 100)]
    assert lengths == sorted(lengths)  # the longer it has sat, the longer its whole stay


def _stay_rows(turns: TurnTimes, n: int, turn: float, printed: float) -> None:
    for i in range(n):
        row = {"closed": T0 + int(turn * MIN), "printed": T0 + int(printed * MIN)}
        turns.record(f"c{i}", 4, 19, T0, row)


def test_live_signals_printed_beats_time_seated() -> None:
    """This restaurant pays about 8 minutes after the check prints; a table that printed 3
    minutes ago is given about 5, whatever its time seated says."""
    turns = TurnTimes()
    _stay_rows(turns, 40, 70, 62)
    model = fit(turns, [])
    printed = Open("1", 4, 19, elapsed=30, since_course=25, since_print=3)
    assert 3.5 < model.remaining(printed) < 7
    seated = Open("1", 4, 19, elapsed=30, since_course=None, since_print=None)
    assert 35 < model.remaining(seated) < 45
    assert fit(turns, [seated]).turn[4].mean >= model.turn[4].mean - 0.01


def test_a_check_not_yet_printed_still_has_its_print_and_payment_to_come() -> None:
    """Checks here print about 10 minutes before they are paid. A table seated 65 minutes whose
    check has not printed yet still waits for its print and then about 10 minutes more: it is
    given at least those 10, where the time seated alone says it is nearly done (the short
    bias of issue 18)."""
    turns = TurnTimes()
    for i, turn in enumerate(lognormal_sample(math.log(70), 0.15, 60)):
        row = {"closed": T0 + int(turn * MIN), "printed": T0 + int((turn - 10) * MIN)}
        turns.record(f"c{i}", 4, 19, T0, row)
    model = fit(turns, [])
    assert model.prints
    assert abs(model.after_print[4].mean - 10) < 1
    assert abs(model.to_print[4].mean - 60) < 3
    waiting = Open("1", 4, 19, elapsed=65, since_course=None, since_print=None)
    printed = Open("1", 4, 19, elapsed=65, since_course=None, since_print=1)
    assert model.remaining(waiting) > 10 + 2  # the rest of its print phase, then ~10
    assert 7 < model.remaining(printed) < 11
    assert model.turn[4].remaining(65) < model.remaining(waiting) - 3  # time seated alone: short


def test_a_restaurant_that_never_prints_uses_time_seated() -> None:
    turns = TurnTimes()
    for i, turn in enumerate(lognormal_sample(math.log(70), 0.15, 40)):
        turns.record(f"c{i}", 4, 19, T0, {"closed": T0 + int(turn * MIN)})
    model = fit(turns, [])
    assert not model.prints
    seated = Open("1", 4, 19, elapsed=30, since_course=None, since_print=None)
    scale = math.exp(model.hour_offset.get(19, 0.0))  # the hour of day, as for every phase
    assert math.isclose(model.remaining(seated), scale * model.turn[4].remaining(30 / scale))


def test_a_printed_open_check_is_an_exact_print_time_and_an_unprinted_one_is_censored() -> None:
    """Tonight's open checks inform the print phase: printed ones with their print time, the
    others as prints still to come (longer than their time seated)."""
    base = fit(TurnTimes(), [])
    late = [Open(str(i), 4, 19, elapsed=100, since_course=None, since_print=None) for i in range(8)]
    assert fit(TurnTimes(), late).to_print[4].mean > max(100, base.to_print[4].mean)
    early = [Open(str(i), 4, 19, elapsed=30, since_course=None, since_print=10) for i in range(20)]
    assert fit(TurnTimes(), early).to_print[4].mean < base.to_print[4].mean


def test_a_table_being_bussed_with_nobody_paged_frees_when_it_is_cleared() -> None:
    """A four-top paid a minute ago with nobody waiting who fitted: no page went, so the next
    party is seated once it is cleared (BUSSING_MIN after the close), not at once."""
    part = WaitlistPart(TABLES, TZ)
    projection = ClosedChecksPart(readers=[part.learn])
    state = State(SPECS, TZ, parts=[projection, part])
    projection.bind(state)
    opened = {"check": "k1", "table": "1", "guests": 4}
    state.process(Input("pos:T1", "o", "check.opened", T0 - 60 * MIN, opened), T0)
    closed = {"check": "k1", "total": "1.00"}
    state.process(Input("pos:T1", "c", "check.closed", T0 - MIN, closed), T0)
    assert state.floor.states["1"].status == "bussing"
    model = fit(part.turns, [])
    only = [TableView("1", 4)]
    got = quote_minutes(4, [], only, state.floor.states, [], model, 19, now=T0)
    assert math.isclose(got, BUSSING_MIN - 1 + model.page_to_seat, abs_tol=0.02)
    later = quote_minutes(4, [], only, state.floor.states, [], model, 19, now=T0 + 9 * MIN)
    assert math.isclose(later, model.page_to_seat, abs_tol=0.02)  # overdue: as soon as it can


# ---- the property: never negative, never dependent on arrival order ------------------------

CHECK_STEPS = ("check.opened", "check.course_fired", "check.printed", "check.closed")


@st.composite
def services(draw: Any) -> tuple[list[tuple[str, int, dict[str, Any]]], list[int], int]:
    events: list[tuple[str, int, dict[str, Any]]] = []
    tables = [s.id for s in SPECS]
    for n in range(draw(st.integers(1, 10))):
        table = draw(st.sampled_from(tables))
        opened = draw(st.integers(0, 300))
        steps = draw(st.integers(1, 4))
        guests = draw(st.integers(1, 8))
        at = opened
        for step in CHECK_STEPS[:steps]:
            at += draw(st.integers(0, 60)) if step != "check.opened" else 0
            data: dict[str, Any] = {"check": f"k{n}"}
            if step == "check.opened":
                data |= {"table": table, "guests": guests}
            elif step == "check.course_fired":
                data["course"] = "apps"
            elif step == "check.closed":
                data["total"] = "1.00"
            events.append((step, at, data))
    parties = draw(st.lists(st.integers(1, 8), min_size=1, max_size=6))
    return events, parties, 600


def _run(events: list[tuple[str, int, dict[str, Any]]], parties: list[int], now: int) -> Any:
    part = WaitlistPart(TABLES, TZ)
    projection = ClosedChecksPart(readers=[part.learn])
    state = State(SPECS, TZ, parts=[projection, part])
    projection.bind(state)
    for etype, minute, data in events:
        eid = f"{etype}:{data['check']}"
        state.process(Input("pos:T1", eid, etype, T0 + minute * MIN, data), T0 + now * MIN)
    quotes = []
    for i, size in enumerate(parties):
        party = {"name": f"p{i}", "party_size": size}
        out = state.process(Input("host", f"add{i}", "waitlist.add", T0 + now * MIN, party))
        quotes.append(part.entries[out.body["entry"]].quoted_minutes)
    live = estimates(part, state.floor.states, state.floor.checks, T0 + (now + 7) * MIN)
    return quotes, sorted(live.values())


@settings(max_examples=60, deadline=None)
@given(services(), st.randoms(use_true_random=False))
def test_estimates_are_never_negative_and_ignore_arrival_order(
    service: tuple[list[tuple[str, int, dict[str, Any]]], list[int], int], rnd: Any
) -> None:
    events, parties, now = service
    shuffled = list(events)
    rnd.shuffle(shuffled)
    quotes, live = _run(events, parties, now)
    assert all(q >= 0 for q in quotes) and all(v >= 0 for v in live)
    assert _run(shuffled, parties, now) == (quotes, live)


def test_a_table_fits_when_its_seats_are_at_least_the_party_as_docs_paging_says() -> None:
    """docs/paging.md: any table with seats >= party size fits (no upper bound), as auto-paging
    chooses; a smaller table never does, and a blocked or held one does not count."""
    part = WaitlistPart(TABLES, TZ)
    state = State(SPECS, TZ, parts=[part])
    for n, table in enumerate(("1", "12")):  # both four-tops seated just now
        data = {"check": f"k{n}", "table": table, "guests": 4}
        state.process(Input("pos:T1", f"o{n}", "check.opened", T0, data), T0)
    walk = fit(part.turns, []).page_to_seat
    # free: the two-top (too small for 3) and the six-top (fits: no upper bound)
    assert part.quote(state.floor.states, state.floor.checks, 3, [], T0) == round(walk, 2)
    block = {"table": "3", "reason": "broken chair"}
    state.process(Input("host", "b", "host.blocked", T0, block), T0)
    later = part.quote(state.floor.states, state.floor.checks, 3, [], T0)
    assert later > 30  # the two-top never fits 3; the blocked six-top does not count
    assert part.quote(state.floor.states, state.floor.checks, 2, [], T0) == round(walk, 2)
