"""Reservations from the cloud as a pure part of the state: holds, seating, conflicts, guests.

Every pull page is one input (`cloud.pulled`) whose events carry the reservations *and* the new
cursor, so the cursor is committed in the same transaction as what it paged over: a crash never
skips or repeats a page. Time-dependent changes (a hold starting inside the window, a no-show
released) come from `reservations.due` inputs the shell submits at `next_due`.

Conflict rules (docs/cloud.md), each recorded as a `conflict.detected` event, never silent:
- table_taken: the cloud assigned a table that a walk-in took meanwhile -> the walk-in stays;
  the reservation is not held there and the host picks another table.
- cancelled_but_seated: the cloud cancelled a reservation whose party is seated on site -> the
  party stays seated; the cloud is told again that it was seated.
- status_mismatch: the cloud says a reservation is seated at a table the floor shows otherwise ->
  the floor is authoritative; its table status is pushed to the cloud again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from floorlink.daemon.core import events as ev
from floorlink.daemon.core.decide import hold_refused, partial_hold_refused
from floorlink.daemon.core.events import (
    CloudPulled,
    HostSeated,
    ReservationArrive,
    ReservationComplete,
    ReservationLink,
    ReservationPartial,
    ReservationUnlink,
    input_class,
    is_command,
)
from floorlink.daemon.core.guests import guest_keys, normalise_name
from floorlink.daemon.core.reasons import Rejected
from floorlink.daemon.core.state import Event, Input, decide_table
from floorlink.daemon.core.timeutil import format_ms, parse_rfc3339

if TYPE_CHECKING:
    from floorlink.daemon.core.state import State

MIN_MS = 60_000
NO_SHOW_GRACE_MS = 20 * MIN_MS
UPCOMING_MS = 4 * 3600 * 1000
ACTIVE = ("booked", "confirmed", "arrived")
#: Reservations the box keeps at most; new ones past it are refused (and counted by the puller).
MAX_RESERVATIONS = 20_000
#: How long a past reservation is kept (late checks still link to it; then it is forgotten).
KEEP_PAST_MS = 36 * 3600 * 1000
#: A check opened this long before / after a reservation's time can be its check (vendors use
#: from -30 to +60 minutes); a link needs at least LINK_THRESHOLD confidence.
LINK_BEFORE_MS = 30 * MIN_MS
LINK_AFTER_MS = 60 * MIN_MS
LINK_THRESHOLD = 0.6
Effect = tuple[str, str, str, dict[str, Any]]
#: The waitlist's facts, each also sent to the cloud as it is, but for a page's delivery steps:
#: those are the transmitter's business and stay on site, as do the box's own paging timers
#: (shifts, heads-ups, after-close timers) and withdrawn pages.
WAITLIST_EVENTS = ev.types_in("waitlist") - {
    ev.WaitlistDelivery.TYPE,
    ev.WaitlistShifted.TYPE,
    ev.WaitlistWithdrawn.TYPE,
    ev.WaitlistHeadsUp.TYPE,
    ev.WaitlistArmed.TYPE,
}


def _money_add(a: object, b: object) -> str:
    """Exact decimal sum of two money strings (the POS's), to the cent."""
    return f"{Decimal(str(a or '0')) + Decimal(str(b or '0')):.2f}"


@dataclass
class ReservationsPart:
    tz: ZoneInfo
    hold_window_minutes: int = 30
    name: str = "reservations"
    reservations: dict[str, dict[str, Any]] = field(default_factory=dict)
    cursor: str | None = None
    holds: dict[str, str] = field(default_factory=dict)  # reservation -> table held for it
    seated: dict[str, str] = field(default_factory=dict)  # reservation -> table
    completed: set[str] = field(default_factory=set)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    history: dict[str, dict[str, Any]] = field(default_factory=dict)  # guest -> visits
    partial: dict[str, int] = field(default_factory=dict)  # reservation -> guests here so far
    links: dict[str, dict[str, Any]] = field(default_factory=dict)  # reservation -> its check
    #: guests' phone numbers are read in this country (daemon/core/guests.py)
    country: str = "US"
    #: matching key (phone:/email:/name:) -> the guest's id in `history`
    guest_ids: dict[str, str] = field(default_factory=dict)

    def guest_of(self, guest: Mapping[str, Any], register: bool = False) -> str | None:
        """The id of a returning guest (by phone, then email; the name only without both),
        None for a new one; `register` makes a new guest and records keys not yet known."""
        keys = guest_keys(guest, self.country)
        gid = next((self.guest_ids[k] for k in keys if self.guest_ids.get(k)), None)
        if register and keys:
            gid = gid or keys[0]
            for k in keys:
                self.guest_ids.setdefault(k, gid)
            # the name as a tie-break: it points at a guest only while one guest carries it
            name = normalise_name(guest.get("name"))
            if name and not keys[0].startswith("name:"):
                known = self.guest_ids.setdefault(f"name:{name}", gid)
                if known != gid:
                    self.guest_ids[f"name:{name}"] = ""  # two guests: the name matches no one
        return gid

    # ---- deciding ------------------------------------------------------------------------

    def handles(self, itype: str) -> bool:
        """Every registry command of the `reservations` group (a new input: one entry)."""
        return is_command(itype, "reservations")

    def decide(
        self, state: State, inp: Input
    ) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
        cls = input_class(inp.type, "reservations")
        if cls is None:
            raise Rejected("unknown_type", f"unknown reservations input {inp.type[:64]!r}")
        body = cls.parse(inp.data)
        d = inp.data
        if isinstance(body, CloudPulled):
            events: list[tuple[str, dict[str, Any]]] = []
            room = MAX_RESERVATIONS - len(self.reservations)
            over = 0
            for raw in body.reservations:
                known = self.reservations.get(raw["id"])
                if known is not None and known == raw:
                    continue
                if known is None:
                    if room <= 0:  # bounded: a runaway vendor cannot fill the box's memory
                        over += 1
                        continue
                    room -= 1
                events.append((ev.ReservationUpserted.TYPE, dict(raw)))
                events.extend(self._on_change(state, raw, known))
            events.append((ev.CloudCursor.TYPE, {"cursor": body.cursor}))
            return events, {"changed": len(events) - 1, "over_limit": over}
        if isinstance(body, ReservationArrive):
            return self._arrive(state, body.reservation, body.table), {}
        if isinstance(body, ReservationComplete):
            return [(ev.ReservationCompleted.TYPE, dict(d))], {}
        if inp.type == ev.ReservationsDue.TYPE:
            events = self._due(state, inp.at, pending={})
            if not events:
                raise Rejected("nothing_due", "nothing is due")
            return events, {}
        if isinstance(body, ReservationPartial):
            return self._partial(state, body.reservation, body.table, body.arrived)
        if isinstance(body, ReservationLink):
            return self._link(state, body), {}
        if isinstance(body, ReservationUnlink):
            rid = body.reservation
            if rid not in self.links:
                raise Rejected("not_linked", f"Reservation {rid[:64]} is not linked to a check.")
            unlinked = {"reservation": rid, "by": body.by or "host"}
            return [(ev.ReservationUnlinked.TYPE, unlinked)], {}
        # A command registered for this part that it does not decide yet.
        raise Rejected("unknown_type", f"reservations do not take {inp.type[:64]!r} yet")

    def _on_change(
        self, state: State, raw: Mapping[str, Any], known: Mapping[str, Any] | None
    ) -> list[tuple[str, dict[str, Any]]]:
        rid = raw["id"]
        out: list[tuple[str, dict[str, Any]]] = []
        status = raw.get("status")
        if status in ("cancelled", "no_show") and rid in self.seated:
            out.append(
                self._conflict(
                    "cancelled_but_seated",
                    rid,
                    self.seated[rid],
                    "the party stays seated on site; the cloud is told again that it was seated",
                )
            )
        elif status in ("cancelled", "no_show", "completed") and rid in self.holds:
            out.append((ev.TableReleased.TYPE, {"table": self.holds[rid], "reservation": rid}))
        if status == "seated" and raw.get("table") and rid not in self.seated:
            table = str(raw["table"])
            floor_state = state.floor.states.get(table)
            party = floor_state.party if floor_state else None
            if party is None or party.reservation != rid:
                out.append(
                    self._conflict(
                        "status_mismatch",
                        rid,
                        table,
                        "the floor is authoritative: its table status is pushed to the cloud again",
                    )
                )
        if known is not None and known.get("table") != raw.get("table") and rid in self.holds:
            out.append((ev.TableReleased.TYPE, {"table": self.holds[rid], "reservation": rid}))
        return out

    def _conflict(
        self, kind: str, rid: str, table: str | None, resolution: str
    ) -> tuple[str, dict[str, Any]]:
        return (
            ev.ConflictDetected.TYPE,
            {"kind": kind, "reservation": rid, "table": table, "resolution": resolution},
        )

    def _due(
        self, state: State, now: int, pending: dict[str, str]
    ) -> list[tuple[str, dict[str, Any]]]:
        """Holds that should start or end at `now`."""
        events: list[tuple[str, dict[str, Any]]] = []
        window = self.hold_window_minutes * MIN_MS
        noted = {(c["kind"], c["reservation"]) for c in self.conflicts}
        for rid, r in sorted(self.reservations.items()):
            table = r.get("table")
            at = r.get("_time")
            if not table or at is None or rid in self.seated or rid in self.partial:
                continue  # a partial arrival holds its table until the rest come or it is seated
            held = self.holds.get(rid)
            active = r.get("status") in ACTIVE
            in_window = at - window <= now < at + NO_SHOW_GRACE_MS
            if held and (not active or now >= at + NO_SHOW_GRACE_MS):
                release = {"table": held, "reservation": rid}
                if active:
                    release["reason"] = "no_show"
                events.append((ev.TableReleased.TYPE, release))
            elif not held and active and in_window and str(table) in state.floor.specs:
                ts = state.floor.states[str(table)]
                if hold_refused(ts):
                    if ("table_taken", rid) not in noted:
                        events.append(
                            self._conflict(
                                "table_taken",
                                rid,
                                str(table),
                                "the walk-in stays; the reservation is not held there: "
                                "seat it at another table",
                            )
                        )
                else:
                    events.append((ev.TableHeld.TYPE, {"table": str(table), "reservation": rid}))
        return events

    def _arrive(self, state: State, rid: str, table: str) -> list[tuple[str, dict[str, Any]]]:
        r = self.reservations.get(rid)
        if r is None:
            raise Rejected("unknown_reservation", f"There is no reservation {rid[:64]}.")
        guest = r.get("guest") or {}
        seat = {
            "table": table,
            "party_size": int(r.get("party_size") or 2),
            "name": guest.get("name"),
            "reservation": rid,
            "source": "reservation",
            "vip": bool(guest.get("vip", False)),
        }
        # The floor's own rules, as for the host's seat action (size, status).
        events = decide_table(state.floor, HostSeated.TYPE, seat)
        if rid in self.holds:
            events.append((ev.TableReleased.TYPE, {"table": self.holds[rid], "reservation": rid}))
        return events

    def _partial(
        self, state: State, rid: str, table: str, arrived: Any
    ) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
        """Part of the party is here: hold the table for them without starting the turn."""
        r = self.reservations.get(rid)
        if r is None:
            raise Rejected("unknown_reservation", f"There is no reservation {rid[:64]}.")
        size = int(r.get("party_size") or 2)
        if type(arrived) is not int or arrived < 1:
            raise Rejected("bad_field", f"arrived: expected an integer >= 1, got {arrived!r:.60}")
        if arrived >= size:
            return self._arrive(state, rid, table), {}
        if rid in self.seated:
            raise Rejected("wrong_status", f"Reservation {rid} is already seated.")
        ts = state.floor.states.get(table)
        if ts is None:
            raise Rejected("unknown_table", f"There is no table {table[:64]}.")
        events: list[tuple[str, dict[str, Any]]] = []
        held = self.holds.get(rid)
        if held != table:
            if partial_hold_refused(ts, rid):  # the core's rule (daemon/core/rules.py)
                raise Rejected("wrong_status", f"Table {table} is not free to hold.")
            if held is not None:
                events.append((ev.TableReleased.TYPE, {"table": held, "reservation": rid}))
            events.append((ev.TableHeld.TYPE, {"table": table, "reservation": rid}))
        events.append(
            (
                ev.ReservationPartialEvent.TYPE,
                {"reservation": rid, "table": table, "arrived": arrived, "party_size": size},
            )
        )
        return events, {"reservation": rid, "arrived": arrived, "party_size": size}

    def _link(self, state: State, body: ReservationLink) -> list[tuple[str, dict[str, Any]]]:
        rid, check = body.reservation, body.check
        if rid not in self.reservations:
            raise Rejected("unknown_reservation", f"There is no reservation {rid[:64]}.")
        if check not in state.floor.checks:
            raise Rejected("unknown_check", f"There is no check {check[:64]}.")
        by = body.by or "host"
        confidence = 1.0 if by == "host" else float(body.confidence or 0)
        current = self.links.get(rid)
        if current is not None and current["check"] == check and current["by"] == by:
            raise Rejected("wrong_status", f"Reservation {rid} is already linked to check {check}.")
        if by != "host" and current is not None and current["by"] == "host":
            raise Rejected("wrong_status", f"Reservation {rid} was linked by the host.")
        data = {"reservation": rid, "check": check, "confidence": round(confidence, 2), "by": by}
        return [(ev.ReservationLinked.TYPE, data)]

    # ---- folding -------------------------------------------------------------------------

    def _forget_past(self, now: int) -> None:
        """Reservations more than KEEP_PAST_MS in the past (by the log's clock) and holding no
        table are forgotten, with what hangs off them: what is kept is bounded by the booking
        horizon, not by history. Their completions went to the cloud and the projection."""
        cutoff = now - KEEP_PAST_MS
        old = [
            rid
            for rid, r in self.reservations.items()
            if r.get("_time") is not None and r["_time"] < cutoff and rid not in self.holds
        ]
        for rid in old:
            del self.reservations[rid]
            self.seated.pop(rid, None)
            self.partial.pop(rid, None)
            self.links.pop(rid, None)
            self.completed.discard(rid)

    def apply(self, event: Event) -> None:
        d = event.data
        t = event.type
        if t == ev.ReservationUpserted.TYPE:
            r = dict(d)
            try:
                r["_time"] = parse_rfc3339(str(d.get("time")))
            except ValueError:
                r["_time"] = None
            self.reservations[d["id"]] = r
        elif t == ev.CloudCursor.TYPE:
            self.cursor = d.get("cursor")
            self._forget_past(event.at)
        elif t == ev.TableHeld.TYPE:
            self.holds[d["reservation"]] = d["table"]
        elif t == ev.TableReleased.TYPE:
            self.holds.pop(d["reservation"], None)
        elif t == ev.HostSeated.TYPE and d.get("reservation"):
            self.seated[d["reservation"]] = d["table"]
            self.partial.pop(d["reservation"], None)
        elif t == ev.ReservationPartialEvent.TYPE:
            self.partial[d["reservation"]] = int(d["arrived"])
        elif t == ev.ReservationLinked.TYPE:
            self.links[d["reservation"]] = {
                "check": d["check"],
                "confidence": d["confidence"],
                "by": d["by"],
            }
        elif t == ev.ReservationUnlinked.TYPE:
            self.links.pop(d["reservation"], None)
        elif t == ev.ConflictDetected.TYPE:
            self.conflicts.append({**d, "at": event.at})
            del self.conflicts[:-100]
        elif t == ev.ReservationCompleted.TYPE:
            rid = d["reservation"]
            self.completed.add(rid)
            self.seated.pop(rid, None)
            guest = (self.reservations.get(rid) or {}).get("guest") or {}
            gid = self.guest_of(guest, register=True) or "unknown"
            h = self.history.setdefault(
                gid, {"visits": 0, "spend": "0.00", "last": None, "items": {}}
            )
            h["visits"] += 1
            h["spend"] = _money_add(h["spend"], d.get("total"))
            day = datetime.fromtimestamp(event.at / 1000, UTC).astimezone(self.tz).date()
            h["last"] = max(h["last"] or "", day.isoformat())  # visits fold in any order
            for item in d.get("items") or []:
                h["items"][item["name"]] = h["items"].get(item["name"], 0) + int(item.get("qty", 1))

    # ---- reacting ------------------------------------------------------------------------

    def react(
        self, state: State, event: Event, changed: list[str]
    ) -> tuple[list[Input], list[Effect]]:
        follow: list[Input] = []
        effects: list[Effect] = []
        d = event.data
        if event.type == ev.HostSeated.TYPE and d.get("reservation"):
            effects.append(
                self._cloud(
                    event,
                    "reservation.seated",
                    {
                        "reservation": d["reservation"],
                        "table": d["table"],
                        "party_size": d["party_size"],
                    },
                )
            )
        elif event.type == ev.CheckOpened.TYPE:
            table = str(d.get("table"))
            ts = state.floor.states.get(table)
            rid = ts.held_for if ts else None
            if rid and rid not in self.seated and ts is not None and ts.party is None:
                follow.append(
                    Input(
                        "auto",
                        f"arrive:{event.seq}",
                        ev.ReservationArrive.TYPE,
                        event.at,
                        {"reservation": rid, "table": table},
                    )
                )
            link = self.auto_link(state, str(d["check"]), table, event.at, d.get("guests"))
            if link is not None:
                eid = f"link:{event.seq}"
                follow.append(Input("auto", eid, ev.ReservationLink.TYPE, event.at, link))
        elif event.type == ev.ReservationPartialEvent.TYPE:
            effects.append(self._cloud(event, "reservation.arrived", dict(d)))
        elif event.type == ev.TableReleased.TYPE and d.get("reason") == "no_show":
            effects.append(
                self._cloud(event, "reservation.no_show", {"reservation": d["reservation"]})
            )
        elif event.type == ev.CheckClosed.TYPE:
            facts = state.floor.checks.get(str(d["check"]))
            segs = facts.segments() if facts else []
            closed_table = segs[-1].table if segs else None
            for rid, seated_at in sorted(self.seated.items()):
                if seated_at == closed_table and facts is not None and rid not in self.completed:
                    items = [it for its in facts.items.values() for it in its]
                    follow.append(
                        Input(
                            "auto",
                            f"complete:{event.seq}:{rid}",
                            ev.ReservationComplete.TYPE,
                            event.at,
                            {
                                "reservation": rid,
                                "table": closed_table,
                                "total": facts.total,
                                "covers": facts.party_size,
                                "items": items,
                            },
                        )
                    )
        elif event.type == ev.ReservationCompleted.TYPE:
            effects.append(self._cloud(event, ev.ReservationCompleted.TYPE, dict(d)))
        elif event.type == ev.ConflictDetected.TYPE:
            kind, conflict_table = d["kind"], d.get("table")
            if kind == "cancelled_but_seated":
                effects.append(
                    self._cloud(
                        event,
                        "reservation.seated",
                        {"reservation": d["reservation"], "table": conflict_table},
                    )
                )
            elif kind == "status_mismatch" and conflict_table in state.floor.states:
                obj = state.table_object(str(conflict_table))
                effects.append(self._cloud(event, "table.status", obj))
        elif event.type in WAITLIST_EVENTS:
            effects.append(self._cloud(event, event.type, dict(d)))
        return follow, effects

    def auto_link(
        self, state: State, check: str, table: str, at: int, guests: Any
    ) -> dict[str, Any] | None:
        """The reservation a check just opened on `table` most likely belongs to, if any is
        likely enough: {reservation, check, confidence, by: "auto"}."""
        ts = state.floor.states.get(table)
        linked_checks = {v["check"] for v in self.links.values()}
        if check in linked_checks:
            return None
        best: tuple[float, str] | None = None
        for rid, r in self.reservations.items():
            if rid in self.links or rid in self.completed:
                continue
            seated_here = self.seated.get(rid) == table
            held_here = self.holds.get(rid) == table or (ts is not None and ts.held_for == rid)
            if not seated_here and r.get("status") not in ACTIVE:
                continue
            score = link_confidence(
                r.get("_time"),
                r.get("table"),
                r.get("party_size"),
                at,
                table,
                guests if type(guests) is int else None,
                seated_here or held_here,
            )
            if score >= LINK_THRESHOLD and (best is None or (score, rid) > best):
                best = (score, rid)
        if best is None:
            return None
        return {"reservation": best[1], "check": check, "confidence": best[0], "by": "auto"}

    def _cloud(self, event: Event, etype: str, data: dict[str, Any]) -> Effect:
        return ("cloud", f"{etype}:{event.seq}:{event.eid}", etype, data)

    # ---- snapshots -----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "reservations": dict(sorted(self.reservations.items())),
            "cursor": self.cursor,
            "holds": dict(sorted(self.holds.items())),
            "seated": dict(sorted(self.seated.items())),
            "completed": sorted(self.completed),
            "conflicts": list(self.conflicts),
            "history": dict(sorted(self.history.items())),
            "partial": dict(sorted(self.partial.items())),
            "links": dict(sorted(self.links.items())),
            "guest_ids": dict(sorted(self.guest_ids.items())),
        }

    def load_json(self, raw: Mapping[str, Any]) -> None:
        self.reservations = dict(raw["reservations"])
        self.cursor = raw["cursor"]
        self.holds = dict(raw["holds"])
        self.seated = dict(raw["seated"])
        self.completed = set(raw["completed"])
        self.conflicts = list(raw["conflicts"])
        if "guest_ids" not in raw and raw["history"]:
            # a snapshot from before guests were matched by normalised phone and email: its
            # history is keyed otherwise, so the engine rebuilds the state from the log
            raise ValueError("reservations snapshot predates guest matching")
        self.history = dict(raw["history"])
        self.guest_ids = dict(raw.get("guest_ids", {}))
        self.partial = dict(raw.get("partial", {}))
        self.links = dict(raw.get("links", {}))


# ---- views and timers --------------------------------------------------------------------


def next_due(
    part: ReservationsPart, now: int, holdable: Callable[[str], bool | None] | None = None
) -> int | None:
    """When a hold should next start or end (epoch ms).

    A reservation whose table cannot be held now (not in the config, or taken by a walk-in) is
    not due once that is known (a taken table is due once, to record the conflict): otherwise its
    timer would fire, find nothing to do, and fire again at once for as long as the window lasts.
    `holdable(table)` is True (free), False (taken) or None (no such table). The shell wakes the
    timers again when a table changes."""
    noted = {c["reservation"] for c in part.conflicts if c["kind"] == "table_taken"}
    window = part.hold_window_minutes * MIN_MS
    times: list[int] = []
    for rid, r in part.reservations.items():
        at = r.get("_time")
        if at is None or not r.get("table") or rid in part.seated or rid in part.partial:
            continue
        if rid in part.holds:
            times.append(at + NO_SHOW_GRACE_MS)
        elif r.get("status") in ACTIVE and now < at + NO_SHOW_GRACE_MS:
            due = max(at - window, now)
            can = holdable(str(r["table"])) if holdable is not None else True
            if due <= now and (can is None or (can is False and rid in noted)):
                continue
            times.append(due)
    return min(times) if times else None


def upcoming_view(part: ReservationsPart, tz: ZoneInfo, now: int) -> list[dict[str, Any]]:
    out = []
    for rid, r in part.reservations.items():
        at = r.get("_time")
        if at is None or not now - NO_SHOW_GRACE_MS <= at <= now + UPCOMING_MS:
            continue
        if r.get("status") not in ACTIVE and rid not in part.seated:
            continue
        guest = r.get("guest") or {}
        out.append(
            {
                "id": rid,
                "time": format_ms(at, tz),
                "party_size": r.get("party_size"),
                "name": guest.get("name"),
                "vip": bool(guest.get("vip")),
                "table": r.get("table"),
                "status": "seated" if rid in part.seated else r.get("status"),
                "held": rid in part.holds,
                "arrived": part.partial.get(rid),
                "check": (part.links.get(rid) or {}).get("check"),
                "link_confidence": (part.links.get(rid) or {}).get("confidence"),
                "linked_by": (part.links.get(rid) or {}).get("by"),
                "_at": at,
            }
        )
    out.sort(key=lambda v: (v["_at"], v["id"]))
    for v in out:
        del v["_at"]
    return out


def link_confidence(
    res_at: int | None,
    res_table: Any,
    res_size: Any,
    check_at: int,
    check_table: str,
    guests: int | None,
    here: bool,
) -> float:
    """How sure we are that a check opened at `check_at` on `check_table` is this
    reservation's, 0..1: the table counts most (seated or held here: certain), then the time
    inside the -30/+60 minute window, then the party size against the check's guests."""
    if res_at is None:
        return 0.0
    delta = check_at - res_at
    if not -LINK_BEFORE_MS <= delta <= LINK_AFTER_MS:
        return 1.0 if here else 0.0
    if here:
        return 1.0
    if res_table is not None and str(res_table) == check_table:
        table_score = 1.0
    elif res_table is None:
        table_score = 0.0  # time and size alone never reach the threshold
    else:
        return 0.0
    span = LINK_BEFORE_MS if delta < 0 else LINK_AFTER_MS
    time_score = 1.0 - abs(delta) / span
    size_score = 0.5
    if guests is not None and type(res_size) is int and res_size > 0:
        size_score = max(0.0, 1.0 - abs(guests - res_size) / res_size)
    return round(0.5 * table_score + 0.3 * time_score + 0.2 * size_score, 3)


def link_stats(part: ReservationsPart) -> dict[str, Any]:
    """The share of seated reservations linked to a check (the seed's benchmark: 80%+)."""
    seated = set(part.seated) | set(part.completed)
    linked = len(seated & set(part.links))
    return {
        "seated": len(seated),
        "linked": linked,
        "share": round(linked / len(seated), 3) if seated else None,
    }


def conflicts_view(part: ReservationsPart, tz: ZoneInfo) -> list[dict[str, Any]]:
    return [{**c, "at": format_ms(c["at"], tz)} for c in reversed(part.conflicts)]


def guest_payload(part: ReservationsPart, table: str, rid: str) -> dict[str, Any] | None:
    """The guest object of contract section 4 for the POS at `table`."""
    r = part.reservations.get(rid)
    if r is None:
        return None
    guest = r.get("guest") or {}
    gid = part.guest_of(guest)
    h = part.history.get(gid, {}) if gid is not None else {}
    visits = int(h.get("visits", 0))
    favourites = sorted(h.get("items", {}), key=lambda k: (-h["items"][k], k))[:3]
    return {
        "table": table,
        "reservation": rid,
        "name": guest.get("name"),
        "party_size": r.get("party_size"),
        "vip": bool(guest.get("vip", False)),
        "requests": guest.get("notes"),
        "allergies": guest.get("allergies"),
        "visits": visits,
        "last_visit": h.get("last"),
        "average_check": (
            f"{(Decimal(h['spend']) / visits).quantize(Decimal('0.01')):.2f}" if visits else None
        ),
        "favourites": favourites,
    }
