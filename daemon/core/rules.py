"""The table rules as data: the status precedence, the host's refusals and no-ops, the outcomes
the contract leaves to us. The floor and the deciding code read these tables; docs/table-rules.md
is rendered from them (`make docs`), and a test fails when the two differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

from floorlink.daemon.core.reasons import REASONS

if TYPE_CHECKING:
    from floorlink.daemon.core.events import HostSeated
    from floorlink.daemon.core.floor import TableSpec, TableState

Status = Literal["available", "reserved", "seated", "check_dropped", "bussing", "blocked"]
STATUSES: tuple[Status, ...] = (
    "available",
    "reserved",
    "seated",
    "check_dropped",
    "bussing",
    "blocked",
)


# ---- which status a table shows ------------------------------------------------------------


class Seen(NamedTuple):
    """What the floor found for one table, reduced to what decides its status."""

    open_checks: bool
    all_printed: bool
    party: bool
    finished: bool
    blocked: bool
    held: bool


@dataclass(frozen=True, slots=True)
class StatusRule:
    status: Status
    when: str
    test: Callable[[Seen], bool]


#: The first rule that holds gives the table's status.
PRECEDENCE: tuple[StatusRule, ...] = (
    StatusRule(
        "check_dropped",
        "checks are open on the table and every one of them is printed",
        lambda s: s.open_checks and s.all_printed,
    ),
    StatusRule("seated", "a check is open on the table", lambda s: s.open_checks),
    StatusRule(
        "seated",
        "the host seated a party that has not left (no check yet, or its check is still open)",
        lambda s: s.party,
    ),
    StatusRule(
        "bussing",
        "a stay ended (its check closed, or moved away) and no clear came at or after its start",
        lambda s: s.finished,
    ),
    StatusRule("blocked", "the host blocked the table", lambda s: s.blocked),
    StatusRule("reserved", "a reservation holds the table", lambda s: s.held),
    StatusRule("available", "none of the above", lambda s: True),
)


def status_of(seen: Seen) -> Status:
    for rule in PRECEDENCE:
        if rule.test(seen):
            return rule.status
    raise AssertionError("the last rule always holds")  # pragma: no cover


# ---- host table commands: refusals and no-ops ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Refusal:
    """A host command the table's state refuses. `test(table, spec, seat)` says when;
    `message(table, spec, seat)` the sentence; `seat` is the body of a seating, else None."""

    command: str
    reason: str
    when: str
    test: Callable[[TableState, TableSpec, HostSeated | None], bool]
    message: Callable[[TableState, TableSpec, HostSeated | None], str]


def _party(seat: HostSeated | None) -> str:
    return f"{seat.name}'s party" if seat is not None and seat.name else "A party"


def _size(seat: HostSeated | None) -> int:
    return seat.party_size if seat is not None else 0


#: Checked in order; the first that holds refuses the command. The same rules apply to every
#: entrance that seats a party: the host's seat action, the waitlist, a reservation's arrival.
REFUSALS: tuple[Refusal, ...] = (
    Refusal(
        "host.seated",
        "party_too_large",
        "the party has more guests than the table has seats",
        lambda t, spec, seat: _size(seat) > spec.seats,
        lambda t, spec, seat: (
            f"{_party(seat)} of {_size(seat)} does not fit table {t.id} ({spec.seats} seats)."
        ),
    ),
    Refusal(
        "host.seated",
        "wrong_status",
        "the table is blocked",
        lambda t, spec, seat: t.status == "blocked",
        lambda t, spec, seat: f"Table {t.id} is blocked: unblock it first.",
    ),
    Refusal(
        "host.seated",
        "wrong_status",
        "the table is being bussed",
        lambda t, spec, seat: t.status == "bussing",
        lambda t, spec, seat: f"Table {t.id} is being bussed: clear it first.",
    ),
    Refusal(
        "host.seated",
        "wrong_status",
        "a party is already seated there",
        lambda t, spec, seat: t.party is not None,
        lambda t, spec, seat: f"Table {t.id} is already seated.",
    ),
    Refusal(
        "host.cleared",
        "wrong_status",
        "a check is still open on the POS for that table",
        lambda t, spec, seat: bool(t.checks),
        lambda t, spec, seat: (
            f"Table {t.id} still has check {', '.join(t.checks)} open on the POS: close it there."
        ),
    ),
    Refusal(
        "host.blocked",
        "wrong_status",
        "the table is seated",
        lambda t, spec, seat: t.status in ("seated", "check_dropped"),
        lambda t, spec, seat: f"Table {t.id} is seated: it can be blocked once it is free.",
    ),
)


@dataclass(frozen=True, slots=True)
class NoOp:
    """A host command that would change nothing: accepted, nothing logged, nothing changes."""

    command: str
    when: str
    test: Callable[[TableState], bool]


NO_OPS: tuple[NoOp, ...] = (
    NoOp(
        "host.cleared",
        "there is nothing to clear: no party, no check, no stay to bus (available, reserved,"
        " or blocked with nobody at it)",
        lambda t: t.status in ("available", "reserved", "blocked") and t.party is None,
    ),
    NoOp("host.unblocked", "the table is not blocked", lambda t: not t.blocked),
)


@dataclass(frozen=True, slots=True)
class HoldRule:
    when: str
    test: Callable[[TableState], bool]


#: When a reservation's hold may not start on its table: the party there stays, and the
#: reservations part records a `table_taken` conflict instead (docs/cloud.md).
HOLD_REFUSED = HoldRule(
    "the table is seated, check_dropped or bussing, or already held for another reservation",
    lambda t: t.status in ("seated", "check_dropped", "bussing") or t.held_for is not None,
)

#: When a partial arrival ("2 of 4 here") may not hold a table for its reservation.
PARTIAL_HOLD_REFUSED = HoldRule(
    "the table is not available or reserved, or is held for another reservation",
    lambda t: t.status not in ("available", "reserved"),
)

ACTIONS = {
    "host.seated": "seat a party",
    "host.cleared": "clear",
    "host.blocked": "block",
    "host.unblocked": "unblock",
}

#: The outcomes the contract leaves to us, for POS events.
SITUATIONS: tuple[tuple[str, str], ...] = (
    (
        "`check.opened` on an available or reserved table",
        "`seated`; a party seated by a server from the door is a walk-in",
    ),
    (
        "`check.course_fired`",
        "the table's course becomes the furthest course fired on its open checks"
        " (apps < entrees < dessert)",
    ),
    ("`check.printed`", "`check_dropped` once every open check on the table is printed"),
    ("`check.closed` of the last open check", "`bussing`"),
    ("`table.cleared` (POS) or clear (host)", "a bussing table becomes `available`"),
    ("two checks on one table (split)", "`seated` until the last one closes"),
    (
        "`check.transferred`",
        "the check and its party move to the new table; the old table, left with no open check,"
        " goes `bussing`",
    ),
    ("`check.voided` of the last open check", "the table is freed (`available`): nothing to bus"),
    ("an event naming a table not in the config", "`rejected`, with the table id in the error"),
    (
        "a course fired or an update for a check already closed",
        "accepted and stored; the table does not change",
    ),
    (
        "events of a check that arrive before its `check.opened`",
        "stored as facts; they take effect when the opening arrives",
    ),
    (
        "`check.opened` on a blocked table",
        "accepted: the guests are there, so the table shows `seated` (with its `blocked_reason`);"
        " once cleared it is `blocked` again",
    ),
    (
        "`check.opened` with more guests than the table has seats",
        "accepted: the POS says the guests are there (only seating by the host, the waitlist or a"
        " reservation is refused)",
    ),
    (
        "`table.cleared` while a check on the table is still open",
        "remembered: the table stays `seated`; when that check closes it goes straight to"
        " `available` (a clear covers every stay that began at or before it)",
    ),
    (
        "the same check opened twice (two terminals, different ids)",
        "the earliest opening (by `at`, then id) wins; nothing is counted twice",
    ),
    ("a duplicate event id from the same terminal", "answered `duplicate`, changes nothing"),
    (
        "an event with a missing or mistyped field",
        "`rejected` (`missing_field` or `bad_field`) with the field named; nothing changes",
    ),
)

#: Defined outcomes of host commands that are neither refused nor a no-op.
HOST_OUTCOMES: tuple[tuple[str, str], ...] = (
    ("block a table that is already blocked", "accepted: the new reason replaces the old one"),
    (
        "seat from the waitlist, or a reservation's arrival",
        "the same refusals as the host's seat action, checked by the same rules",
    ),
)


# ---- the document --------------------------------------------------------------------------

INTRO = """\
# Table rules

<!-- Generated from daemon/core/rules.py by `make docs`: edit the rules, not this file. -->

Every table transition is decided in the pure core, `daemon/core/`: the floor (`floor.py`) folds
the facts, the rules (`rules.py`, rendered here) say which status they give and what the host may
do. The floor keeps, for each POS check, facts that only grow: where and when it was opened, which
courses were fired and when, when it was printed, closed or voided, every transfer. Each table's
status is *derived* from those facts, ordered by the events' own `at` timestamps, never by
arrival. So the events of a check can arrive in any order, any of them twice, from two terminals,
and the table ends in the same state (a Hypothesis property test checks this over permutations
with duplicates).
"""

OUTRO = """\
`since` is when the table entered its current status (a course change does not reset it;
`course_since` says when the current course was fired). `seq` is the log position of the last
change of that table.
"""


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def render() -> str:
    """docs/table-rules.md, from the tables above."""
    lines = [INTRO]
    lines += _table(("situation", "outcome"), list(SITUATIONS))
    lines += [
        "",
        "A table's status is the first of these that holds:",
        "",
    ]
    lines += _table(("status", "when"), [(f"`{r.status}`", r.when) for r in PRECEDENCE])
    lines += [
        "",
        "Host actions (HTTP API) are checked against the current state. A refusal changes",
        "nothing and carries a reason code, which the HTTP layer answers with a readable 4xx:",
        "",
    ]
    rows: list[tuple[str, ...]] = []
    for command, action in ACTIONS.items():
        refusals = [f"{r.when} (`{r.reason}`)" for r in REFUSALS if r.command == command]
        noops = [n.when for n in NO_OPS if n.command == command]
        rows.append(
            (
                action,
                "; ".join(refusals) or "never",
                "; ".join(noops) or "-",
            )
        )
    lines += _table(("action", "refused when", "accepted and changes nothing when"), rows)
    lines += ["", "Other host outcomes:", ""]
    lines += _table(("situation", "outcome"), list(HOST_OUTCOMES))
    lines += [
        "",
        "A reservation's hold (`reserved`) starts inside its window unless",
        f"{HOLD_REFUSED.when}:",
        "then a `table_taken` conflict is recorded and the party there stays.",
        "",
        "A partial arrival of a reservation (part of the party is here) holds a table for it",
        f"unless {PARTIAL_HOLD_REFUSED.when} (`wrong_status`).",
    ]
    lines += [
        "",
        "Reason codes of a refusal (every input, from every entrance):",
        "",
    ]
    lines += _table(("reason", "meaning"), [(f"`{k}`", v) for k, v in REASONS.items()])
    lines += ["", OUTRO]
    return "\n".join(lines)
