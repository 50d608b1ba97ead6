"""The waitlist as a pure part of the state: who is waiting, their quotes, and who a freed table
pages. It runs inside the core's fold, so it reads no clock and does no I/O; pages leave as
outbox effects written in the same transaction as the table change that caused them.

Inputs: `waitlist.add`, `waitlist.page` (host or auto), `waitlist.seat`, `waitlist.left`,
`waitlist.due` (a timer the shell submits when `next_due` says: re-pages, give-ups, after-close
pages and heads-ups), `pager.delivery` (the pager sender's report of where a page got: written,
acknowledged, ...), `pager.reply` (a guest's text reply: 1 on my way, 9 cancel), and the part's
own follow-ups `waitlist.withdraw` (the table a party was paged for was taken) and `waitlist.arm`
(an after-close timer starts or stops).
Events: `waitlist.added`, `waitlist.paged`, `waitlist.seated`, `waitlist.left`,
`waitlist.delivery`, `waitlist.replied`, `waitlist.withdrawn`, `waitlist.heads_up`,
`waitlist.armed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from floorlink.daemon.core import events as ev
from floorlink.daemon.core.events import HostSeated, WaitlistPage, input_class, is_command
from floorlink.daemon.core.quotes import (
    MIN_MS,
    Ahead,
    Model,
    Open,
    TableView,
    TurnTimes,
    fit,
    open_checks,
    predicted_free_within_from,
    quote_minutes,
    seat_times,
)
from floorlink.daemon.core.reasons import Rejected
from floorlink.daemon.core.state import Event, Input, decide_table
from floorlink.daemon.core.timeutil import format_ms

if TYPE_CHECKING:
    from floorlink.daemon.core.floor import CheckFacts, Floor, TableSpec, TableState
    from floorlink.daemon.core.state import State

EntryStatus = Literal["waiting", "paged", "seated", "left"]
#: Re-pages that fall due together go out this far apart: a burst of buzzes confuses the floor.
REPAGE_SPACING_MS = 5_000
#: The most a box-time shift may be (a box a year behind, corrected).
MAX_SHIFT_MS = 400 * 86_400_000
#: Where a page got (docs/pagers.md): the sender reports each step as `pager.delivery`.
DELIVERY_STATES = frozenset(
    {"queued", "written", "acknowledged", "transmitted", "failed", "expired", "retrying"}
)
#: A table in one of these is taken: a page for it no longer stands.
OCCUPIED = frozenset({"seated", "check_dropped"})
#: A table in one of these can take the party an after-close timer pages.
FREE = frozenset({"bussing", "available"})
RECENT_MS = 30 * MIN_MS
DAY_MS = 86_400_000
#: The waitlist's snapshot format; an older one is refused, so the state is refolded from the log.
SNAPSHOT_VERSION = 3
#: A party whose live estimate passes its quote by more than this is flagged `running_late`.
LATE_MINUTES = 5
#: Quote outcomes kept for the accuracy report (about a month of services).
OUTCOMES_KEPT = 5000
#: A service day runs from 05:00 to 05:00 local (late closes belong to the night).
DAY_STARTS_HOUR = 5


@dataclass
class Entry:
    id: str
    name: str
    party_size: int
    pager: int | None
    phone: str | None
    notes: str | None
    added_at: int
    quoted_minutes: int
    status: EntryStatus = "waiting"
    pages: int = 0
    first_paged_at: int | None = None
    last_paged_at: int | None = None
    table: str | None = None
    done_at: int | None = None
    delivery: str | None = None  # where the latest page got (DELIVERY_STATES)
    delivery_detail: str | None = None
    reply: str | None = None  # the guest's text reply: on_my_way
    heads_up_at: int | None = None  # the heads-up page (at most one)
    heads_up_table: str | None = None
    withdrawn_reason: str | None = None  # why the latest page was withdrawn ("table 11 was ...")
    withdrawn_pages: int = 0  # pages withdrawn: they do not count toward max_pages


@dataclass(frozen=True, slots=True)
class PagingRules:
    trigger: str = "bussing"  # bussing | available | after_close
    page_after_close_minutes: float = 5  # trigger after_close: how long after the close
    heads_up_minutes: float = 0  # heads-up this long before a fitting table frees; 0: off
    repage_after_minutes: float = 5
    max_pages: int = 3
    combine_tables: bool = False
    alert_type: int = 1
    text_paging: bool = False  # the transmitter texts: parties with a phone and no pager too


@dataclass
class WaitlistPart:
    tables: tuple[TableView, ...]
    tz: ZoneInfo
    rules: PagingRules = PagingRules()
    name: str = "waitlist"
    entries: dict[str, Entry] = field(default_factory=dict)
    turns: TurnTimes = field(default_factory=TurnTimes)
    errors: list[float] = field(default_factory=list)  # |quote - actual| minutes, recent
    # each seated party's quote against its wait: [service day, size, quoted, waited minutes]
    outcomes: list[list[Any]] = field(default_factory=list)
    quotes_recorded: int = 0  # how many errors were ever recorded (for the metric)
    last_repage_at: int | None = None  # re-pages are spaced by REPAGE_SPACING_MS
    # after_close: table -> due at, or None once its page went (until the table is taken again)
    armed: dict[str, int | None] = field(default_factory=dict)

    def on_floor(self, specs: tuple[TableSpec, ...]) -> None:
        """The floor changed (daemon/core/floor_changes.py): quote against the new tables."""
        self.tables = tuple(TableView(t.id, t.seats, t.combine_with) for t in specs)

    # ---- deciding ------------------------------------------------------------------------

    def handles(self, itype: str) -> bool:
        """Every registry command of the `waitlist` group: a new input is one registry entry."""
        return is_command(itype, "waitlist")

    def decide(
        self, state: State, inp: Input
    ) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
        cls = input_class(inp.type, "waitlist")
        if cls is None:
            raise Rejected("unknown_type", f"unknown waitlist action {inp.type[:64]!r}")
        body = cls.parse(inp.data)  # the registry's checks first: fields and their types
        d = inp.data
        if inp.type == ev.WaitlistAdd.TYPE:
            party = check_party(d)
            entry_id = self._new_id(inp.eid)
            size = party["party_size"]
            quote = self.quote(state.floor.states, state.floor.checks, size, self._active(), inp.at)
            data = {"entry": entry_id} | party | {"quoted_minutes": round(quote)}
            return [(ev.WaitlistAdded.TYPE, data)], {"entry": entry_id}
        if inp.type == ev.WaitlistDue.TYPE:
            return self._due(state, inp.at), {}
        if isinstance(body, ev.WaitlistArm):
            return [(ev.WaitlistArmed.TYPE, self._arm(state, body, inp.at))], {}
        if isinstance(body, ev.WaitlistWithdraw):
            entry = self._entry(body.entry)
            if entry.status != "paged" or entry.table != body.table:
                raise Rejected(
                    "wrong_status", f"{entry.name}'s party is not paged for table {body.table}."
                )
            if body.table not in state.floor.specs or not taken(
                state.floor.states[body.table], entry
            ):
                raise Rejected("wrong_status", f"Table {body.table[:64]} is not taken.")
            return [(ev.WaitlistWithdrawn.TYPE, withdrawn(entry, body.table))], {"entry": entry.id}
        if inp.type == ev.BoxResumed.TYPE:
            gap, why = d.get("gap_ms"), d.get("reason")
            if not isinstance(gap, int) or isinstance(gap, bool) or abs(gap) > MAX_SHIFT_MS:
                raise Rejected(
                    "bad_field", f"gap_ms: expected whole milliseconds within 400 days, got {gap!r}"
                )
            if why not in ("restart", "clock"):
                raise Rejected("bad_field", f'reason: expected "restart" or "clock", got {why!r}')
            shifted = {"gap_ms": gap, "reason": why}
            return [(ev.WaitlistShifted.TYPE, shifted)], {}
        if inp.type == ev.PagerTest.TYPE:
            pager = _integral(d.get("pager"))
            if not isinstance(pager, int) or isinstance(pager, bool) or not 1 <= pager <= MAX_PAGER:
                raise Rejected(
                    "missing_field" if pager is None else "bad_field",
                    f"A test page needs a pager number from 1 to {MAX_PAGER}.",
                )
            test = "t-" + "".join(c for c in inp.eid if c.isalnum())[-8:].lower()
            return [(ev.PagerTested.TYPE, {"test": test, "pager": pager})], {"test": test}
        entry = self._entry(str(getattr(body, "entry", "")))
        if inp.type == ev.PagerDelivery.TYPE:
            step, n = d.get("state"), d.get("n")
            if step not in DELIVERY_STATES or not isinstance(n, int) or isinstance(n, bool):
                raise Rejected(
                    "bad_field",
                    f"a delivery report needs a known state and a page number: {d}"[:300],
                )
            detail = str(d.get("detail") or "")[:200]
            data = {"entry": entry.id, "n": n, "state": step, "detail": detail}
            return [(ev.WaitlistDelivery.TYPE, data)], {"entry": entry.id}
        if inp.type == ev.PagerReply.TYPE:
            if entry.status not in ("waiting", "paged"):
                raise Rejected("wrong_status", f"{entry.name}'s party is already {entry.status}.")
            answer = str(d.get("answer", "")).strip()
            if answer == "1":
                replied = {"entry": entry.id, "reply": "on_my_way"}
                return [(ev.WaitlistReplied.TYPE, replied)], {"entry": entry.id}
            if answer == "9":
                left = {"entry": entry.id, "reason": "guest_cancelled"}
                return [(ev.WaitlistLeftEvent.TYPE, left)], {"entry": entry.id}
            raise Rejected("bad_field", "A reply is 1 (on my way) or 9 (cancel).")
        if isinstance(body, WaitlistPage):
            if entry.status not in ("waiting", "paged"):
                raise Rejected("wrong_status", f"{entry.name}'s party is already {entry.status}.")
            reason = "auto" if body.reason == "auto" else "host"
            return [(ev.WaitlistPaged.TYPE, self._page(entry, reason, body.table))], {
                "entry": entry.id
            }
        if inp.type == ev.WaitlistSeat.TYPE:
            tid = str(d.get("table"))
            if entry.status not in ("waiting", "paged"):
                raise Rejected("wrong_status", f"{entry.name}'s party is already {entry.status}.")
            # The floor's own rules, as for the host's seat action (size, status).
            seat = decide_table(
                state.floor,
                HostSeated.TYPE,
                {
                    "table": tid,
                    "party_size": entry.party_size,
                    "name": entry.name,
                    "waitlist": entry.id,
                    "source": "waitlist",
                },
            )
            return [(ev.WaitlistSeated.TYPE, {"entry": entry.id, "table": tid}), *seat], {
                "entry": entry.id
            }
        if inp.type == ev.WaitlistLeft.TYPE:
            if entry.status in ("seated", "left"):
                raise Rejected("wrong_status", f"{entry.name}'s party is already {entry.status}.")
            left = {"entry": entry.id, "reason": "host"}
            return [(ev.WaitlistLeftEvent.TYPE, left)], {"entry": entry.id}
        # A command registered for this part that it does not decide yet.
        raise Rejected("unknown_type", f"the waitlist does not take {inp.type[:64]!r} yet")

    def _new_id(self, eid: str) -> str:
        base = "w-" + "".join(c for c in eid if c.isalnum())[-6:].lower()
        entry_id, n = base, 1
        while entry_id in self.entries:
            n += 1
            entry_id = f"{base}{n}"
        return entry_id

    def _entry(self, entry_id: str) -> Entry:
        entry = self.entries.get(entry_id)
        if entry is None:
            raise Rejected("unknown_entry", f"There is no waitlist entry {entry_id[:64]}.")
        return entry

    def _page(self, entry: Entry, reason: str, table: str | None) -> dict[str, Any]:
        data: dict[str, Any] = {"entry": entry.id, "pager": entry.pager, "n": entry.pages + 1}
        data["reason"] = reason
        if table:
            data["table"] = table
        return data

    def _arm(self, state: State, body: ev.WaitlistArm, at: int) -> dict[str, Any]:
        tid = body.table
        if tid not in state.floor.specs:
            raise Rejected("unknown_table", f"There is no table {tid[:64]}.")
        if body.off:
            if tid not in self.armed:
                raise Rejected("nothing_due", f"Table {tid} has no after-close timer.")
            return {"table": tid, "due_at": None}
        if self.rules.trigger != "after_close":
            raise Rejected("wrong_status", "paging.trigger is not after_close.")
        if state.floor.states[tid].status not in FREE:
            raise Rejected("wrong_status", f"Table {tid} is not free.")
        if tid in self.armed:
            raise Rejected("wrong_status", f"Table {tid} already paged or will page.")
        return {"table": tid, "due_at": at + int(self.rules.page_after_close_minutes * MIN_MS)}

    def _due(self, state: State, at: int) -> list[tuple[str, dict[str, Any]]]:
        """What is due at `at`: after-close pages, heads-ups, give-ups, withdrawals of pages for
        a table taken meanwhile, and at most one re-page (the longest-waiting party's): the
        next one follows REPAGE_SPACING_MS later (`next_due`), never in the same burst."""
        events: list[tuple[str, dict[str, Any]]] = []
        chosen: set[str] = set()
        for due, tid in sorted((due, tid) for tid, due in self.armed.items() if due is not None):
            entry = self._armed_party(state.floor, tid, chosen)
            if due <= at and entry is not None:
                chosen.add(entry.id)
                events.append((ev.WaitlistPaged.TYPE, self._page(entry, "auto", tid)))
        for due, tid, entry in self._heads_ups(state.floor):
            if due <= at and entry.id not in chosen:
                chosen.add(entry.id)
                heads_up: dict[str, Any] = {"entry": entry.id, "table": tid, "pager": entry.pager}
                events.append((ev.WaitlistHeadsUp.TYPE, heads_up))
        repage = int(self.rules.repage_after_minutes * MIN_MS)
        spaced = self.last_repage_at is None or at >= self.last_repage_at + REPAGE_SPACING_MS
        for entry in sorted(self.entries.values(), key=lambda e: (e.added_at, e.id)):
            if entry.status != "paged" or entry.last_paged_at is None:
                continue
            if entry.last_paged_at + repage > at:
                continue
            paged_for = entry.table
            if paged_for in state.floor.states and taken(state.floor.states[paged_for], entry):
                # never re-paged "for" a table that is taken (a log from before withdrawals)
                events.append((ev.WaitlistWithdrawn.TYPE, withdrawn(entry, str(paged_for))))
            elif entry.pages - entry.withdrawn_pages >= self.rules.max_pages:
                events.append((ev.WaitlistLeftEvent.TYPE, {"entry": entry.id, "reason": "no_show"}))
            elif spaced:
                events.append((ev.WaitlistPaged.TYPE, self._page(entry, "repage", entry.table)))
                spaced = False
        if not events:
            raise Rejected("nothing_due", "nothing is due")
        return events

    def _armed_party(self, floor: Floor, tid: str, chosen: set[str]) -> Entry | None:
        """The party an armed table pages when its timer is due: it must still be free."""
        table = floor.states.get(tid)
        spec = floor.specs.get(tid)
        if table is None or spec is None or table.status not in FREE or table.held_for:
            return None
        return self._best_fit(spec.seats, chosen)

    def _heads_ups(self, floor: Floor) -> list[tuple[int, str, Entry]]:
        """(due at, table, party) for each table whose next party has had no heads-up: the
        longest-waiting party that fits it, once the quote model predicts the table free within
        `heads_up_minutes` (quotes.predicted_free_within_from, anchored on the table's status)."""
        minutes = self.rules.heads_up_minutes
        waiting = sorted(
            (e for e in self.entries.values() if e.status == "waiting"),
            key=lambda e: (e.added_at, e.id),
        )
        if minutes <= 0 or all(e.heads_up_at is not None for e in waiting):
            return []
        out: list[tuple[int, str, Entry]] = []
        # a table a paged party is on its way to will not free for the next one
        promised = {e.table for e in self.entries.values() if e.status == "paged" and e.table}
        for tid in sorted(floor.specs):
            table = floor.states[tid]
            if table.status not in ("seated", "check_dropped", "bussing") or table.held_for:
                continue
            if tid in promised:
                continue
            nxt = next((e for e in waiting if fits(e.party_size, floor.specs[tid].seats)), None)
            if nxt is None or nxt.heads_up_at is not None:
                continue
            due = predicted_free_within_from(table, self.turns, self._hour, minutes)
            if due is not None:
                out.append((due, tid, nxt))
        return out

    # ---- folding -------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        d = event.data
        t = event.type
        if t == ev.WaitlistAdded.TYPE:
            self.entries[d["entry"]] = Entry(
                id=d["entry"],
                name=d["name"],
                party_size=int(d["party_size"]),
                pager=d.get("pager"),
                phone=d.get("phone"),
                notes=d.get("notes"),
                added_at=event.at,
                quoted_minutes=int(d["quoted_minutes"]),
            )
        elif t == ev.WaitlistPaged.TYPE:
            e = self.entries[d["entry"]]
            e.status = "paged"
            e.pages = int(d["n"])
            if d.get("pager"):
                e.delivery, e.delivery_detail = "queued", None
            e.last_paged_at = event.at
            if d.get("reason") == "repage":
                self.last_repage_at = event.at
            if e.first_paged_at is None:
                e.first_paged_at = event.at
            if d.get("table"):
                e.table = d["table"]
                if d["table"] in self.armed:  # the table's after-close page is spent
                    self.armed[d["table"]] = None
            e.withdrawn_reason = None
        elif t == ev.WaitlistWithdrawn.TYPE:
            e = self.entries[d["entry"]]
            e.status, e.table = "waiting", None
            e.withdrawn_reason = d["reason"]
            e.withdrawn_pages = e.pages
        elif t == ev.WaitlistHeadsUp.TYPE:
            e = self.entries[d["entry"]]
            e.heads_up_at, e.heads_up_table = event.at, d["table"]
        elif t == ev.WaitlistArmed.TYPE:
            if d.get("due_at") is None:
                self.armed.pop(d["table"], None)
            else:
                self.armed[d["table"]] = int(d["due_at"])
        elif t == ev.WaitlistSeated.TYPE:
            e = self.entries[d["entry"]]
            self._record_outcome(e, event.at)
            e.status, e.table, e.done_at = "seated", d["table"], event.at
        elif t == ev.WaitlistLeftEvent.TYPE:
            e = self.entries[d["entry"]]
            e.status, e.done_at = "left", event.at
        elif t == ev.WaitlistShifted.TYPE:
            # The box's time moved (it was down, or its wall clock was corrected): move every
            # live party's times with it, so waits and timers stand where they stood.
            gap = int(d["gap_ms"])
            for e in self._active():
                e.added_at += gap
                if e.last_paged_at is not None:
                    e.last_paged_at += gap
                if e.first_paged_at is not None:
                    e.first_paged_at += gap
                if e.heads_up_at is not None:
                    e.heads_up_at += gap
            self.armed = {
                tid: None if due is None else due + gap for tid, due in self.armed.items()
            }
            if self.last_repage_at is not None:
                self.last_repage_at += gap
        elif t == ev.WaitlistReplied.TYPE:
            self.entries[d["entry"]].reply = d.get("reply")
        elif t == ev.WaitlistDelivery.TYPE:
            e = self.entries[d["entry"]]
            if int(d["n"]) >= e.pages:  # a late report of an older page changes nothing
                e.delivery, e.delivery_detail = d["state"], d.get("detail") or None
        self._forget(event.at)

    def learn(self, row: Mapping[str, Any]) -> None:
        """Turn times from the closed-checks projection (daemon/core/closed_checks.py), which calls
        this during the fold with a check's row after each of its events: the latest row of a
        paid check replaces the earlier one, so the order its events came in does not matter.
        The waitlist folds no check event itself."""
        check, opened, closed = str(row.get("check")), row.get("opened"), row.get("closed")
        if closed is None or not isinstance(opened, int) or row.get("voided") is not None:
            self.turns.forget(check)
            return
        covers = _count(row.get("covers"), 2)
        self.turns.record(check, covers, self._hour(opened), opened, row)

    # ---- quoting (pure: `now` is the input's or the read's time) -------------------------

    def model(
        self, states: Mapping[str, TableState], checks: Mapping[str, CheckFacts], now: int
    ) -> tuple[Model, list[Open]]:
        """The turn-time model at `now`: closed stays, and the open checks as censored ones."""
        live = open_checks(states, checks, now, self._hour)
        return fit(self.turns, live), live

    def quote(
        self,
        states: Mapping[str, TableState],
        checks: Mapping[str, CheckFacts],
        size: int,
        ahead: list[Entry],
        now: int,
        fitted: tuple[Model, list[Open]] | None = None,
    ) -> float:
        """Minutes from `now` until a party of `size` is seated, behind `ahead` (by arrival)."""
        model, live = fitted or self.model(states, checks, now)
        queue = [self.ahead(e, model, now) for e in sorted(ahead, key=lambda e: (e.added_at, e.id))]
        return quote_minutes(
            size,
            queue,
            self.tables,
            states,
            live,
            model,
            self._hour(now),
            self.rules.combine_tables,
            self.rules.trigger,
            now,
        )

    def ahead(self, e: Entry, model: Model, now: int) -> Ahead:
        """A party as the queue sees it: a paged one holds its table until it sits (or, paged
        without a table, sits a walk from its page)."""
        if e.status == "paged" and e.first_paged_at is not None:
            sits = (e.first_paged_at - now) / MIN_MS + model.page_to_seat
            return Ahead(e.party_size, e.table, max(0.0, sits))
        return Ahead(e.party_size)

    def _record_outcome(self, entry: Entry, at: int) -> None:
        """A quote is a promise about being seated: its error is quote minus added-to-seated."""
        actual = (at - entry.added_at) / MIN_MS
        if entry.first_paged_at is not None:
            self.turns.record_walk((at - entry.first_paged_at) / MIN_MS)
        self.errors.append(round(abs(entry.quoted_minutes - actual), 2))
        self.quotes_recorded += 1
        del self.errors[:-200]
        day = datetime.fromtimestamp(entry.added_at / 1000, UTC).astimezone(self.tz)
        service_day = (day - timedelta(hours=DAY_STARTS_HOUR)).date().isoformat()
        self.outcomes.append(
            [service_day, entry.party_size, entry.quoted_minutes, round(actual, 2)]
        )
        del self.outcomes[:-OUTCOMES_KEPT]

    def _forget(self, now: int) -> None:
        """Entries done for a day leave the state (and snapshots) small."""
        if len(self.entries) < 500:
            return
        for key in [
            k for k, e in self.entries.items() if e.done_at and now - e.done_at > 86_400_000
        ]:
            del self.entries[key]

    # ---- reacting ------------------------------------------------------------------------

    def react(
        self, state: State, event: Event, changed: list[str]
    ) -> tuple[list[Input], list[tuple[str, str, str, dict[str, Any]]]]:
        follow: list[Input] = []
        effects: list[tuple[str, str, str, dict[str, Any]]] = []
        paged = self.entries.get(str(event.data.get("entry")))
        phone = paged.phone if paged is not None and self.rules.text_paging else None
        if event.type == ev.WaitlistPaged.TYPE and (event.data.get("pager") or phone):
            d = event.data
            payload = {"entry": d["entry"], "pager": d["pager"], "alert": self.rules.alert_type}
            payload["n"] = d["n"]
            if d.get("table"):
                payload["table"] = d["table"]  # the sender checks the page still stands
            if phone:
                payload["phone"] = phone
            effects.append(("pager", f"page:{d['entry']}:{d['n']}", "page", payload))
        if event.type == ev.WaitlistHeadsUp.TYPE and event.data.get("pager"):
            # A buzz on the party's pager. Not texted: the SMS template says the table is ready.
            d = event.data
            payload = {"entry": d["entry"], "pager": d.get("pager"), "alert": self.rules.alert_type}
            payload |= {"n": 0, "table": d["table"], "heads_up": True}
            if not self.rules.text_paging:
                effects.append(("pager", f"heads_up:{d['entry']}", "page", payload))
        if event.type == ev.PagerTested.TYPE:
            d = event.data
            test = {"test": d["test"], "pager": d["pager"], "alert": self.rules.alert_type, "n": 1}
            effects.append(("pager", f"test:{d['test']}", "page", test))
        chosen: set[str] = set()
        for tid in changed:
            table = state.floor.states[tid]
            if table.status in OCCUPIED:
                follow.extend(self._taken_follow_ups(event, tid, table))
                continue
            if table.held_for is not None:
                continue
            if self.rules.trigger == "after_close":
                if table.status in FREE and tid not in self.armed:
                    arm = {"table": tid}
                    follow.append(
                        Input("auto", f"arm:{event.seq}:{tid}", ev.WaitlistArm.TYPE, event.at, arm)
                    )
                continue
            if table.status != self.rules.trigger:
                continue
            entry = self._best_fit(state.floor.specs[tid].seats, chosen)
            if entry is None:
                continue
            chosen.add(entry.id)
            follow.append(
                Input(
                    "auto",
                    f"page:{event.seq}:{tid}",
                    ev.WaitlistPage.TYPE,
                    event.at,
                    {"entry": entry.id, "table": tid, "reason": "auto"},
                )
            )
        return follow, effects

    def _taken_follow_ups(self, event: Event, tid: str, table: TableState) -> list[Input]:
        """A table was taken: withdraw the pages for it (the parties wait again, first in
        line) and stop its after-close timer."""
        follow: list[Input] = []
        for e in sorted(self.entries.values(), key=lambda e: (e.added_at, e.id)):
            if e.status == "paged" and e.table == tid and taken(table, e):
                data = {"entry": e.id, "table": tid}
                eid = f"withdraw:{event.seq}:{e.id}"
                follow.append(Input("auto", eid, ev.WaitlistWithdraw.TYPE, event.at, data))
        if tid in self.armed:
            off = {"table": tid, "off": True}
            follow.append(
                Input("auto", f"arm:{event.seq}:{tid}", ev.WaitlistArm.TYPE, event.at, off)
            )
        return follow

    def _best_fit(self, seats: int, chosen: set[str]) -> Entry | None:
        """The party that has waited longest among those who fit these seats."""
        candidates = [
            e
            for e in self.entries.values()
            if e.status == "waiting" and fits(e.party_size, seats) and e.id not in chosen
        ]
        return min(candidates, key=lambda e: (e.added_at, e.id)) if candidates else None

    def _active(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.status in ("waiting", "paged")]

    def _hour(self, at: int) -> int:
        return datetime.fromtimestamp(at / 1000, UTC).astimezone(self.tz).hour

    # ---- snapshots -----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "entries": {k: asdict(e) for k, e in sorted(self.entries.items())},
            "turns": self.turns.to_json(),
            "v": SNAPSHOT_VERSION,
            "errors": list(self.errors),
            "outcomes": [list(o) for o in self.outcomes],
            "quotes_recorded": self.quotes_recorded,
            "last_repage_at": self.last_repage_at,
            "armed": dict(sorted(self.armed.items())),
        }

    def load_json(self, raw: Mapping[str, Any]) -> None:
        if raw.get("v") != SNAPSHOT_VERSION:  # learned turn times another way: refold the log
            raise ValueError(f"waitlist snapshot version {raw.get('v')!r}, not {SNAPSHOT_VERSION}")
        self.entries = {k: Entry(**v) for k, v in raw["entries"].items()}
        self.turns = TurnTimes.from_json(raw["turns"])
        self.errors = list(raw["errors"])
        self.outcomes = [list(o) for o in raw.get("outcomes", [])]
        self.quotes_recorded = int(raw.get("quotes_recorded", len(self.errors)))
        self.last_repage_at = raw.get("last_repage_at")
        self.armed = {k: None if v is None else int(v) for k, v in raw.get("armed", {}).items()}


def fits(party_size: int, seats: int) -> bool:
    """A table fits a party for paging when it has at least the party's seats (docs/paging.md:
    the quote prefers a snug one, up to two seats more, but any table that fits can page)."""
    return party_size <= seats


def taken(table: TableState, entry: Entry) -> bool:
    """The table is occupied by someone other than this party (a check is open on it, or the
    host seated another party there): a page for it no longer stands."""
    if table.status not in OCCUPIED:
        return False
    return table.party is None or table.party.waitlist != entry.id


def withdrawn(entry: Entry, table: str) -> dict[str, Any]:
    return {"entry": entry.id, "table": table, "reason": f"table {table} was taken"}


def page_stands(part: WaitlistPart, payload: Mapping[str, Any]) -> bool:
    """May the sender still send this queued page? Its party waits for this very page: a page
    is the party's latest attempt (`n`) for the table it names; a heads-up (`n` 0) only while the
    party waits. A page that was withdrawn, superseded, or whose party was seated or left is not.
    """
    entry = part.entries.get(str(payload.get("entry")))
    if entry is None:
        return False
    n = payload.get("n")
    if not isinstance(n, int) or isinstance(n, bool):  # a row queued before pages had numbers
        return entry.status in ("waiting", "paged")
    if n == 0:
        return entry.status == "waiting" and entry.heads_up_at is not None
    if entry.status != "paged" or entry.pages != n:
        return False
    return payload.get("table") in (None, entry.table)


# ---- input checks ----------------------------------------------------------------------------


def _integral(value: Any) -> Any:
    """JSON has one number type: 42.0 is the pager 42."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


MAX_PARTY = 100
MAX_PAGER = 4095


def check_party(d: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `waitlist.add`, checked: the HTTP layer validates too, but the part must
    never log an entry it could not page or quote (a 422 with a sentence, not a crash)."""
    name = d.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 80:
        raise Rejected(
            "missing_field" if name is None else "bad_field",
            "A waitlist entry needs a name (1-80 characters).",
        )
    size = d.get("party_size")
    if isinstance(size, float) and size.is_integer():
        size = int(size)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_PARTY:
        raise Rejected(
            "missing_field" if size is None else "bad_field",
            f"Party size must be a whole number from 1 to {MAX_PARTY}.",
        )
    pager = _integral(d.get("pager"))
    if pager is not None and (
        not isinstance(pager, int) or isinstance(pager, bool) or not 1 <= pager <= MAX_PAGER
    ):
        raise Rejected("bad_field", f"Pager number must be from 1 to {MAX_PAGER}.")
    party: dict[str, Any] = {"name": name, "party_size": size, "pager": pager}
    for key, limit in (("phone", 32), ("notes", 500)):
        value = d.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise Rejected(
                "bad_field", f"{key.capitalize()} must be text of at most {limit} characters."
            )
        party[key] = value
    return party


def _count(value: Any, default: int) -> int:
    """A guest count from a stored event, or the default when it is missing or unreadable:
    the fold must never fail on an event that is already in the log."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return default
    return n if n > 0 else default


# ---- views and timers (read by the shell) --------------------------------------------------


def next_due(part: WaitlistPart, floor: Floor | None = None) -> int | None:
    """Epoch ms of the next re-page or give-up, if any party is paged (re-pages spaced), and
    with the floor, of the next after-close page or heads-up that has a party to page."""
    repage = int(part.rules.repage_after_minutes * MIN_MS)
    due = []
    for e in part.entries.values():
        if e.status != "paged" or e.last_paged_at is None:
            continue
        at = e.last_paged_at + repage
        if e.pages - e.withdrawn_pages < part.rules.max_pages and part.last_repage_at is not None:
            at = max(at, part.last_repage_at + REPAGE_SPACING_MS)
        due.append(at)
    if floor is not None:
        for tid, armed_at in part.armed.items():
            if armed_at is not None and part._armed_party(floor, tid, set()) is not None:
                due.append(armed_at)
        due.extend(at for at, _tid, _entry in part._heads_ups(floor))
    return min(due) if due else None


def entry_view(e: Entry, tz: ZoneInfo, now: int, estimate: float | None = None) -> dict[str, Any]:
    end = e.done_at if e.done_at is not None else now
    waited = (end - e.added_at) / MIN_MS
    if e.status == "seated":
        estimate = waited
    total = None if estimate is None else max(0, round(estimate))
    late = e.status in ("waiting", "paged") and total is not None
    return {
        "id": e.id,
        "name": e.name,
        "party_size": e.party_size,
        "pager": e.pager,
        "phone": e.phone,
        "notes": e.notes,
        "quoted_minutes": e.quoted_minutes,
        "status": e.status,
        "added_at": format_ms(e.added_at, tz),
        "paged_at": format_ms(e.last_paged_at, tz) if e.last_paged_at else None,
        "pages": e.pages,
        "table": e.table,
        "waited_minutes": max(0, round((end - e.added_at) / MIN_MS)),
        "delivery": e.delivery,
        "delivery_detail": e.delivery_detail,
        "reply": e.reply,
        "heads_up_at": format_ms(e.heads_up_at, tz) if e.heads_up_at else None,
        "withdrawn_reason": e.withdrawn_reason,
        # the live estimate of the whole wait (arrival to seated), as the floor stands now
        "estimate_minutes": total,
        "running_late": late and total is not None and total > e.quoted_minutes + LATE_MINUTES,
    }


def estimates(
    part: WaitlistPart,
    states: Mapping[str, TableState],
    checks: Mapping[str, CheckFacts],
    now: int,
) -> dict[str, float]:
    """Each waiting or paged party's live estimate of its whole wait (arrival to seated, in
    minutes) as the floor stands at `now`: the same model as its quote, rerun now."""
    active = sorted(part._active(), key=lambda e: (e.added_at, e.id))
    if not active:
        return {}
    model, live = part.model(states, checks, now)
    queue = [part.ahead(e, model, now) for e in active]
    seats = seat_times(
        queue, part.tables, states, live, model, part._hour(now), part.rules.combine_tables,
        part.rules.trigger, now,
    )  # fmt: skip
    return {
        e.id: max(0.0, (now - e.added_at) / MIN_MS) + seat
        for e, seat in zip(active, seats, strict=True)
    }


def waitlist_view(
    part: WaitlistPart,
    tz: ZoneInfo,
    now: int,
    floor: tuple[Mapping[str, TableState], Mapping[str, CheckFacts]] | None = None,
) -> list[dict[str, Any]]:
    """Waiting and paged parties by arrival, then the recently seated and gone; with the floor
    (table states and open checks) each active party carries its live estimate."""
    entries = sorted(part.entries.values(), key=lambda e: (e.added_at, e.id))
    active = [e for e in entries if e.status in ("waiting", "paged")]
    recent = [e for e in entries if e.done_at is not None and now - e.done_at <= RECENT_MS]
    est = estimates(part, floor[0], floor[1], now) if floor is not None else {}
    return [entry_view(e, tz, now, est.get(e.id)) for e in active + recent]


def accuracy(outcomes: Iterable[Sequence[Any]]) -> dict[str, Any]:
    """MAE, bias (quote - actual) and the share within 3 minutes of (quoted, waited) pairs."""
    errs = [float(o[-2]) - float(o[-1]) for o in outcomes]
    if not errs:
        return {"quotes": 0, "mae_minutes": None, "bias_minutes": None, "within_3_min": None}
    return {
        "quotes": len(errs),
        "mae_minutes": round(sum(abs(x) for x in errs) / len(errs), 2),
        "bias_minutes": round(sum(errs) / len(errs), 2),
        "within_3_min": round(sum(1 for x in errs if abs(x) <= 3) / len(errs), 3),
    }


def quote_accuracy(part: WaitlistPart, days: int = 7) -> dict[str, Any]:
    """Quote against actual wait (arrival to seated): overall, per service day (the last
    `days`) and per party size."""
    rows = part.outcomes
    nights = sorted({str(o[0]) for o in rows})[-days:]
    sizes = sorted({int(o[1]) for o in rows})
    return accuracy(rows) | {
        "by_night": {n: accuracy(o for o in rows if o[0] == n) for n in nights},
        "by_size": {str(s): accuracy(o for o in rows if o[1] == s) for s in sizes},
    }
