"""Wait-time quotes from the live floor and this restaurant's own history (pure).

A quote is a promise about being *seated*: when the table the party would get frees (the page
goes out), plus the usual page-to-seat walk. It comes from three learned pieces:

- **Turn times that count the tables still seated.** Each phase of a stay (opened -> paid, first
  course -> paid, printed -> paid, opened -> printed, first course -> printed) is a log-normal
  per party-size bucket, fitted by EM with the open checks as right-censored observations (a
  table seated 40 minutes is a stay of *more* than 40; a check not printed yet is a print still
  to come), so early in a night the quick tables do not drag the turn down.
- **Shrinkage.** Each bucket's fit is pulled toward the restaurant's overall pattern (its pooled
  ratio to the day-one defaults) with a prior worth `PRIOR_WEIGHT` stays, and the hour of day is
  an offset pooled over sizes and shrunk toward none: a thin bucket (parties of 6, a quiet hour)
  cannot wander far on a few samples.
- **Live signals.** A seated table's remaining time is the conditional mean E[T - e | T > e] of
  the phase it is in, given how long it has been in it: printed -> paid once printed; else (where
  checks print) the rest of the phase to its print, then a whole printed -> paid, since a check
  that has not printed is not about to be paid; else course -> paid or the whole stay.

Then the queue is played the way auto-paging plays it: each table, as it frees, goes to the
longest-waiting party it fits (seats >= party size), who is seated a page-to-seat later and frees
it again a turn after that, over SCENARIOS plays with the uncertain times at fixed Latin-hypercube
quantiles. No clock, no I/O, no randomness: `now` is an argument.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

from floorlink.daemon.core.floor import CheckFacts, TableState

MIN_MS = 60_000
#: Day-one turn times in minutes by party size bucket, before the box has seen a service.
DEFAULT_TURN = {1: 45, 2: 60, 4: 80, 6: 100, 8: 120}
#: Day-one shares: first course -> paid as a share of the turn; printed -> paid in minutes.
DEFAULT_AFTER_COURSE = 0.85
DEFAULT_AFTER_PRINT = 12.0
DEFAULT_SIGMA = 0.25
DEFAULT_PAGE_TO_SEAT = 2.0
#: What the prior is worth, in stays: a bucket with this many stays is half its own data.
PRIOR_WEIGHT = 6.0
#: The hour-of-day offset is worth this many stays of "no hour effect".
HOUR_PRIOR_WEIGHT = 30.0
#: Closed stays kept per size bucket (the newest by close time), and page-to-seat walks kept.
KEPT_PER_BUCKET = 80
WALKS_KEPT = 60
#: The table frees this long after its check is paid when paging waits for `available`.
BUSSING_MIN = 4.0
#: The least a table that is still seated is given: it has not paid yet.
FLOOR_MIN = 0.5
EM_ROUNDS = 30


def size_bucket(size: int) -> int:
    for bucket in (1, 2, 4, 6):
        if size <= bucket:
            return bucket
    return 8


BUCKETS = (1, 2, 4, 6, 8)


# ---- the estimator ----------------------------------------------------------------------------


def _phi(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def _upper(z: float) -> float:
    """P(Z > z) for a standard normal, accurate far in the tail."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def _hazard(z: float) -> float:
    """phi(z) / P(Z > z), the inverse Mills ratio (its asymptote where the tail underflows)."""
    q = _upper(z)
    if q < 1e-12:
        return z + 1 / max(z, 1e-6)
    return _phi(z) / q


@dataclass(frozen=True, slots=True)
class LogNormal:
    """A stay's length in minutes: log T ~ Normal(mu, sigma)."""

    mu: float
    sigma: float

    @property
    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2)

    def remaining(self, elapsed: float) -> float:
        """E[T - e | T > e]: minutes still to go for a stay already `elapsed` long."""
        if elapsed <= 0:
            return self.mean
        s = self.sigma
        a = (math.log(elapsed) - self.mu) / s
        q = _upper(a)
        if q < 1e-12:  # far past anything seen: the tail's own scale
            return max(FLOOR_MIN, elapsed * s * s / max(a * s, 1e-6))
        partial = self.mean * _upper(a - s)  # E[T; T > e]
        return max(FLOOR_MIN, partial / q - elapsed)


def fit_censored(
    exact: Sequence[float],
    censored: Sequence[float],
    prior: LogNormal,
    weight: float = PRIOR_WEIGHT,
) -> LogNormal:
    """Log-normal fit (minutes) of stays that ended (`exact`) and stays still going at the
    lengths in `censored`, by EM with the prior counted as `weight` pseudo-stays.

    With no censoring and weight 0 this is the mean and spread of the logs; a censored stay
    contributes its expected log given that it is longer than what was seen so far."""
    xs = [math.log(max(v, 0.1)) for v in exact]
    cs = [math.log(max(v, 0.1)) for v in censored]
    n = len(xs) + len(cs)
    if n == 0:
        return prior
    mu, sigma = prior.mu, prior.sigma
    if xs and weight == 0 and not cs:
        mu = sum(xs) / len(xs)
    for _ in range(EM_ROUNDS):
        s1 = sum(xs)
        s2 = sum(x * x for x in xs)
        for c in cs:
            z = (c - mu) / sigma
            lam = _hazard(z)
            m = mu + sigma * lam
            var = sigma * sigma * max(1e-9, 1 + z * lam - lam * lam)
            s1 += m
            s2 += var + m * m
        new_mu = (s1 + weight * prior.mu) / (n + weight)
        spread = s2 - 2 * new_mu * s1 + n * new_mu * new_mu
        spread += weight * (prior.sigma**2 + (prior.mu - new_mu) ** 2)
        new_sigma = math.sqrt(max(spread / (n + weight), 1e-4))
        done = abs(new_mu - mu) < 1e-7 and abs(new_sigma - sigma) < 1e-7
        mu, sigma = new_mu, max(0.05, new_sigma)
        if done:
            break
    return LogNormal(round(mu, 9), round(sigma, 9))


def fit_buckets(
    exact: Mapping[int, Sequence[float]],
    censored: Mapping[int, Sequence[float]],
    default: Mapping[int, float],
) -> dict[int, LogNormal]:
    """One fit per size bucket, each shrunk toward the restaurant's overall pattern: the pooled
    log-ratio of every stay to its bucket's default (itself shrunk toward the defaults)."""
    pooled_exact = [v / default[b] for b in BUCKETS for v in exact.get(b, ())]
    pooled_cens = [v / default[b] for b in BUCKETS for v in censored.get(b, ())]
    overall = fit_censored(pooled_exact, pooled_cens, LogNormal(0.0, DEFAULT_SIGMA), 2.0)
    fits = {}
    for b in BUCKETS:
        prior = LogNormal(math.log(default[b]) + overall.mu, overall.sigma)
        fits[b] = fit_censored(exact.get(b, ()), censored.get(b, ()), prior)
    return fits


# ---- what is learned, and folded ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stay:
    """One paid check from the closed-checks projection, in minutes from its opening."""

    bucket: int
    hour: int
    closed_at: int
    turn: float
    course: float | None  # first course fired, minutes after opening
    printed: float | None  # printed, minutes after opening


@dataclass
class TurnTimes:
    """This restaurant's stays (each check once, the projection's latest row of it) and its
    page-to-seat walks. Folded from the log; the fit is made from it when a quote is asked."""

    stays: dict[str, Stay] = field(default_factory=dict)
    walks: list[float] = field(default_factory=list)
    _model: Model | None = field(default=None, compare=False, repr=False)

    def fitted(self) -> Model:
        """The fit of the closed stays alone (no open checks), kept until the next record."""
        if self._model is None:
            self._model = fit(self, [])
        return self._model

    def record(self, check: str, size: int, hour: int, opened: int, row: Mapping[str, Any]) -> None:
        """A paid check's row (a later row of the same check replaces the earlier one)."""
        self._model = None
        closed = int(row["closed"])
        turn = (closed - opened) / MIN_MS
        if not 5 <= turn <= 360:  # a mistaken open/close, not a meal
            self.stays.pop(check, None)
            return

        def offset(key: str) -> float | None:
            at = row.get(key)
            if not isinstance(at, int) or not opened <= at <= closed:
                return None
            return round((at - opened) / MIN_MS, 3)

        stay = Stay(size_bucket(size), hour, closed, round(turn, 3), offset("first_course"),
                    offset("printed"))  # fmt: skip
        self.stays[check] = stay
        same = sorted(
            ((s.closed_at, c) for c, s in self.stays.items() if s.bucket == stay.bucket),
            reverse=True,
        )
        for _, old in same[KEPT_PER_BUCKET:]:
            del self.stays[old]

    def forget(self, check: str) -> None:
        """A check that is no longer a paid meal (voided, reopened)."""
        if self.stays.pop(check, None) is not None:
            self._model = None

    def record_walk(self, minutes: float) -> None:
        self._model = None
        if 0 <= minutes <= 30:
            self.walks.append(round(minutes, 3))
            del self.walks[:-WALKS_KEPT]

    def to_json(self) -> dict[str, Any]:
        return {
            "stays": {c: list(_stay_row(s)) for c, s in sorted(self.stays.items())},
            "walks": list(self.walks),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> TurnTimes:
        stays = {c: Stay(*v) for c, v in raw.get("stays", {}).items()}
        return cls(stays, [float(w) for w in raw.get("walks", [])])


def _stay_row(s: Stay) -> tuple[Any, ...]:
    return (s.bucket, s.hour, s.closed_at, s.turn, s.course, s.printed)


@dataclass(frozen=True, slots=True)
class Open:
    """A check still open on the floor, as censoring and live signals see it (minutes)."""

    table: str
    bucket: int
    hour: int
    elapsed: float  # since opened
    since_course: float | None  # since its first course fired
    since_print: float | None  # since printed


@dataclass(frozen=True)
class Model:
    """The fitted turn times at one moment: per bucket, each phase's log-normal; the hour
    offsets; whether this restaurant's checks print before they are paid; the usual
    page-to-seat minutes."""

    turn: Mapping[int, LogNormal]  # opened -> paid
    after_course: Mapping[int, LogNormal]  # first course -> paid
    after_print: Mapping[int, LogNormal]  # printed -> paid
    to_print: Mapping[int, LogNormal]  # opened -> printed
    course_to_print: Mapping[int, LogNormal]  # first course -> printed
    hour_offset: Mapping[int, float]
    page_to_seat: float
    prints: bool = True

    def expected(self, size: int, hour: int) -> float:
        """Mean minutes from seated to paid for a party of this size seated at this hour."""
        d = self.turn[size_bucket(size)]
        return d.mean * math.exp(self.hour_offset.get(hour, 0.0))

    def remaining(self, o: Open) -> float:
        """Mean minutes until this open check is paid, from the furthest signal it has reached."""
        return self.rest(o, None)

    def rest(self, o: Open, u: tuple[float, float] | None) -> float:
        """Minutes until this open check is paid: the mean (u None) or one draw at the quantiles
        `u` (this phase, the phase after it).

        Printed: the rest of printed -> paid. Not printed where checks print: the rest of the
        phase to the print (from the first course if one fired, else from the opening), given
        that it has not printed yet, then a whole printed -> paid. Where checks do not print:
        the rest of course -> paid, or of the whole stay."""
        scale = math.exp(self.hour_offset.get(o.hour, 0.0))
        b = o.bucket

        def after(d: LogNormal, elapsed: float, q: float | None) -> float:
            return d.remaining(elapsed) if q is None else _quantile_after(d, elapsed, q)

        first, second = (None, None) if u is None else u
        if o.since_print is not None:
            return after(self.after_print[b], o.since_print, first)
        if self.prints:
            then = after(self.after_print[b], 0.0, second)
            if o.since_course is not None:
                d, elapsed = self.course_to_print[b], o.since_course
            else:
                d, elapsed = self.to_print[b], o.elapsed
            return scale * after(d, elapsed / scale, first) + then
        if o.since_course is not None:
            return scale * after(self.after_course[b], o.since_course / scale, first)
        return scale * after(self.turn[b], o.elapsed / scale, first)


def open_checks(
    states: Mapping[str, TableState],
    checks: Mapping[str, CheckFacts],
    now: int,
    hour_of: Callable[[int], int],
) -> list[Open]:
    """Every check still open on a seated table, with its live signals at `now`."""
    out = []
    for tid in sorted(states):
        st = states[tid]
        for number in st.checks:
            f = checks.get(number)
            if f is None or f.opened is None or f.closed_at is not None or f.voided_at is not None:
                continue
            size = f.party_size or st.guests or 2
            course = min(f.courses.values()) if f.courses else None
            out.append(
                Open(
                    tid,
                    size_bucket(size),
                    hour_of(f.opened[0]),
                    max(0.0, (now - f.opened[0]) / MIN_MS),
                    None if course is None else max(0.0, (now - course) / MIN_MS),
                    None if f.printed_at is None else max(0.0, (now - f.printed_at) / MIN_MS),
                )
            )
    return out


def fit(turns: TurnTimes, live: Iterable[Open]) -> Model:
    """The model from the stays that ended and the checks still open: an open check is a
    right-censored stay (and, until it prints, a censored wait for its print)."""
    live = list(live)
    stays = [turns.stays[c] for c in sorted(turns.stays)]
    phases = ("turn", "after_course", "after_print", "to_print", "course_to_print")
    exact: dict[str, dict[int, list[float]]] = {k: {b: [] for b in BUCKETS} for k in phases}
    cens: dict[str, dict[int, list[float]]] = {k: {b: [] for b in BUCKETS} for k in phases}
    for s in stays:
        exact["turn"][s.bucket].append(s.turn)
        if s.course is not None:
            exact["after_course"][s.bucket].append(max(0.5, s.turn - s.course))
        if s.printed is not None:
            exact["after_print"][s.bucket].append(max(0.5, s.turn - s.printed))
            exact["to_print"][s.bucket].append(max(0.5, s.printed))
            if s.course is not None and s.course <= s.printed:
                exact["course_to_print"][s.bucket].append(max(0.5, s.printed - s.course))
    for o in live:
        if o.elapsed >= 1:
            cens["turn"][o.bucket].append(o.elapsed)
        if o.since_course is not None and o.since_course >= 1:
            cens["after_course"][o.bucket].append(o.since_course)
        if o.since_print is not None:
            if o.since_print >= 1:
                cens["after_print"][o.bucket].append(o.since_print)
            exact["to_print"][o.bucket].append(max(0.5, o.elapsed - o.since_print))
            if o.since_course is not None and o.since_course >= o.since_print:
                exact["course_to_print"][o.bucket].append(max(0.5, o.since_course - o.since_print))
        else:
            if o.elapsed >= 1:
                cens["to_print"][o.bucket].append(o.elapsed)
            if o.since_course is not None and o.since_course >= 1:
                cens["course_to_print"][o.bucket].append(o.since_course)
    defaults: dict[str, Mapping[int, float]] = {
        "turn": DEFAULT_TURN,
        "after_course": {b: DEFAULT_TURN[b] * DEFAULT_AFTER_COURSE for b in BUCKETS},
        "after_print": dict.fromkeys(BUCKETS, DEFAULT_AFTER_PRINT),
        "to_print": {b: DEFAULT_TURN[b] - DEFAULT_AFTER_PRINT for b in BUCKETS},
        "course_to_print": {
            b: DEFAULT_TURN[b] * DEFAULT_AFTER_COURSE - DEFAULT_AFTER_PRINT for b in BUCKETS
        },
    }
    fits = {k: fit_buckets(exact[k], cens[k], defaults[k]) for k in phases}
    turn = fits["turn"]
    # the hour of day: residuals of every stay against its bucket, pooled, shrunk toward none
    hour_offset: dict[int, float] = {}
    hours = sorted({s.hour for s in stays})
    for h in hours:
        near = {h, (h - 1) % 24, (h + 1) % 24}
        res = [math.log(s.turn) - turn[s.bucket].mu for s in stays if s.hour in near]
        hour_offset[h] = round(sum(res) / (len(res) + HOUR_PRIOR_WEIGHT), 9)
    walks = turns.walks
    walk = (sum(walks) + 3 * DEFAULT_PAGE_TO_SEAT) / (len(walks) + 3)
    # Checks print before they are paid here unless most paid checks never printed (day one
    # assumes they do: the prior is one printed check).
    printed = sum(1 for s in stays if s.printed is not None)
    prints = (printed + 1) / (len(stays) + 1) >= 0.5
    return Model(
        turn,
        fits["after_course"],
        fits["after_print"],
        fits["to_print"],
        fits["course_to_print"],
        hour_offset,
        walk,
        prints,
    )


# ---- the queue ----------------------------------------------------------------------------------

#: The queue is played this many times, each with every uncertain time at its own quantile, and
#: the mean seat time is the answer: the earliest of several uncertain tables frees sooner than
#: the earliest of their means. The quantiles are a Latin hypercube with fixed permutations (no
#: randomness: the same state always gives the same quote): each draw sees every stratum of its
#: distribution once over the plays, and different draws are shuffled against each other, so
#: several tables are as good as independent (a shared sequence would tie them together).
SCENARIOS = 40
_GOLDEN = 0.6180339887498949
_SILVER = 0.4142135623730951
_Z = NormalDist()
_MASK = (1 << 64) - 1


def _mix(x: int) -> int:
    """A fixed 64-bit integer mix (splitmix64's finaliser): a well-spread order, not a secret."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


@functools.cache
def _strata(j: int) -> tuple[int, ...]:
    """Draw j's stratum in each play: a fixed permutation of 0 .. SCENARIOS - 1."""
    order = sorted(range(SCENARIOS), key=lambda k: _mix(j * 1_000_003 + k + 1))
    return tuple(order)


def _u(k: int, j: int) -> float:
    """The quantile of draw j in play k, in (0, 1)."""
    return (_strata(j)[k] + 0.5) / SCENARIOS


def _quantile_after(d: LogNormal, elapsed: float, u: float) -> float:
    """The u-quantile of T - e given T > e."""
    p0 = 0.0 if elapsed <= 0 else 1 - _upper((math.log(elapsed) - d.mu) / d.sigma)
    p = min(1 - 1e-9, max(1e-9, p0 + u * (1 - p0)))
    return max(FLOOR_MIN, math.exp(d.mu + d.sigma * _Z.inv_cdf(p)) - max(elapsed, 0.0))


@dataclass(frozen=True, slots=True)
class TableView:
    id: str
    seats: int
    combine_with: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Ahead:
    """A party in the queue: its size, and the table it was already paged to (if any) with the
    minutes until it is expected to sit there."""

    size: int
    table: str | None = None
    seated_in: float | None = None


def _free_in(
    state: TableState,
    opens: list[Open],
    model: Model,
    trigger: str,
    u: float | None,
    now: int | None = None,
) -> float | None:
    """Minutes until this table pages its next party (its mean, or its u-quantile); None if it
    cannot take one (blocked, held for a reservation)."""
    if state.held_for is not None or state.status in ("blocked", "reserved"):
        return None
    if state.status == "available":
        return 0.0
    bussing = BUSSING_MIN if trigger == "available" else 0.0
    if state.status == "bussing":
        if trigger == "after_close":
            return 0.0
        # Being bussed with nobody paged for it: with trigger `available` it pages when it is
        # cleared; with `bussing` its page went when it was paid and nobody waiting fitted, so
        # the next party is seated by the host once it is cleared. Either way: when cleared.
        if now is None or state.since is None:
            return BUSSING_MIN
        return max(0.0, BUSSING_MIN - max(0, now - state.since) / MIN_MS)
    if not opens:  # seated by the host, no check yet: a stay just begun
        d = model.turn[size_bucket(state.guests or 2)]
        return (d.mean if u is None else _quantile_after(d, 0, u)) + bussing
    times = []
    for i, o in enumerate(opens):
        w = None if u is None else ((u + i * _GOLDEN) % 1.0, (u * 7.0 + (i + 1) * _SILVER) % 1.0)
        times.append(model.rest(o, w))
    return max(times) + bussing


def minutes_until_free(
    state: TableState, live: Mapping[str, list[Open]], model: Model, trigger: str
) -> float | None:
    """Mean minutes until this table pages its next party; None if it cannot take one."""
    return _free_in(state, live.get(state.id, []), model, trigger, None)


def seat_times(
    queue: Sequence[Ahead],
    tables: Iterable[TableView],
    states: Mapping[str, TableState],
    live: Iterable[Open],
    model: Model,
    hour: int,
    combine: bool = False,
    trigger: str = "bussing",
    now: int | None = None,
) -> list[float]:
    """Minutes from now until each party in the queue (in arrival order) is likely seated.

    Tables free in time order; each goes to the first party in the queue that it fits (seats >=
    party size, as auto-paging chooses), who sits a page-to-seat later and frees it a turn after
    that. A party already paged to a table holds that table. The mean over SCENARIOS plays."""
    by_table: dict[str, list[Open]] = {}
    for o in live:
        by_table.setdefault(o.table, []).append(o)
    table_list = [t for t in tables if t.id in states]
    runs = [
        _play(queue, table_list, states, by_table, model, hour, combine, trigger, k, now)
        for k in range(SCENARIOS)
    ]
    out = []
    for i in range(len(queue)):
        values = sorted(r[i] for r in runs)
        out.append(round(max(0.0, sum(values) / len(values)), 2))
    return out


def _play(
    queue: Sequence[Ahead],
    table_list: list[TableView],
    states: Mapping[str, TableState],
    by_table: Mapping[str, list[Open]],
    model: Model,
    hour: int,
    combine: bool,
    trigger: str,
    k: int,
    now: int | None,
) -> list[float]:
    walk = model.page_to_seat
    free_at: dict[str, float] = {}
    seats: dict[str, int] = {}
    for j, t in enumerate(table_list):
        wait = _free_in(states[t.id], by_table.get(t.id, []), model, trigger, _u(k, j), now)
        if wait is not None:
            free_at[t.id], seats[t.id] = wait, t.seats
    draws = len(table_list)
    hour_scale = math.exp(model.hour_offset.get(hour, 0.0))

    def turn(size: int) -> float:
        nonlocal draws
        draws += 1
        d = model.turn[size_bucket(size)]
        return hour_scale * _quantile_after(d, 0, _u(k, draws))

    result: list[float] = [math.nan] * len(queue)
    waiting: list[int] = []
    for i, a in enumerate(queue):
        if a.seated_in is not None:  # paged: sits when it reaches its table
            result[i] = max(0.0, a.seated_in)
            if a.table is not None and a.table in free_at:
                free_at[a.table] = result[i] + turn(a.size)
        else:
            waiting.append(i)
    biggest = max(seats.values(), default=0)
    for i in [i for i in waiting if queue[i].size > biggest]:
        waiting.remove(i)
        result[i] = model.expected(queue[i].size, hour) + walk
        if combine:
            by_id = {t.id: t for t in table_list}
            pairs = [
                max(free_at[t.id], free_at[o]) + walk
                for t in table_list
                for o in t.combine_with
                if o in by_id and t.id in free_at and o in free_at
                and seats[t.id] + seats[o] >= queue[i].size
            ]  # fmt: skip
            if pairs:
                result[i] = min(pairs)
    # tables freeing together go smallest first (the snug one to the first party it fits)
    heap = [(at, seats[tid], tid) for tid, at in free_at.items()]
    heapq.heapify(heap)
    while heap and waiting:
        at, _, tid = heapq.heappop(heap)
        who = next((i for i in waiting if queue[i].size <= seats[tid]), None)
        if who is None:
            continue  # nobody in the queue fits it: it stays free
        waiting.remove(who)
        result[who] = at + walk
        heapq.heappush(heap, (at + walk + turn(queue[who].size), seats[tid], tid))
    for i in waiting:  # nothing here will ever fit: the honest answer is a long turn
        result[i] = model.expected(queue[i].size, hour) + walk
    return result


def quote_minutes(
    party_size: int,
    ahead: Iterable[int | Ahead],
    tables: Iterable[TableView],
    states: Mapping[str, TableState],
    live: Iterable[Open],
    model: Model,
    hour: int,
    combine: bool = False,
    trigger: str = "bussing",
    now: int | None = None,
) -> float:
    """Minutes from now until this party is likely seated, behind the parties ahead (in order)."""
    queue = [a if isinstance(a, Ahead) else Ahead(int(a)) for a in ahead]
    queue.append(Ahead(party_size))
    return seat_times(queue, tables, states, live, model, hour, combine, trigger, now)[-1]


#: The least a seated table still needs, as a share of its turn, by the course it is on.
COURSE_SHARE = {None: 0.1, "apps": 0.35, "entrees": 0.2, "dessert": 0.08}
#: How far ahead a heads-up looks for a table to come free (minutes from its status start).
HEADS_UP_HORIZON_MIN = 480


def predicted_free_within_from(
    state: TableState, turns: TurnTimes, hour_of: Callable[[int], int], minutes: float
) -> int | None:
    """Epoch ms (whole minutes after the table's status began) from which the table is predicted
    free within `minutes`, or None if not within HEADS_UP_HORIZON_MIN or it cannot take a party.
    Anchored on the table's own `since`, never on a clock, so the timer that asks and the step
    that acts get the same answer: the model is the closed stays' (no censoring, which would
    move with the clock): the typical stay less the time seated, never under a share of the turn
    by the course it is on; a printed check's typical time to payment. It assumes the estimate
    shrinks as time passes (the first minute found by bisection)."""
    since = state.since
    if since is None:
        return None
    if state.held_for is not None or state.status in ("blocked", "reserved"):
        return None
    model = turns.fitted()
    bucket = size_bucket(state.guests or 2)

    scale = math.exp(model.hour_offset.get(hour_of(since), 0.0))
    turn = math.exp(model.turn[bucket].mu) * scale  # the typical (median) stay
    after_print = math.exp(model.after_print[bucket].mu)

    def within(k: int) -> bool:
        if state.status in ("available", "bussing"):
            return True
        if state.status == "check_dropped":
            return after_print - k <= minutes
        return max(turn - k, turn * COURSE_SHARE.get(state.course, 0.3)) <= minutes

    if within(0):
        return since
    lo, hi = 0, HEADS_UP_HORIZON_MIN
    if not within(hi):
        return None
    while hi - lo > 1:  # within(lo) is False, within(hi) is True
        mid = (lo + hi) // 2
        if within(mid):
            hi = mid
        else:
            lo = mid
    return since + hi * MIN_MS
