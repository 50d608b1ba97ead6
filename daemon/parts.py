"""The state a config describes, and the live views the engine keeps beside it.

`build_state` is the one place that knows which parts fold next to the floor (replay, the report
and the tools build the same state); `register_views` tells the engine which read-side copies to
take after a commit and on which event types, named from the event registry (daemon/core/events.py)
so a new event type never needs a string here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from floorlink.daemon.core.closed_checks import ClosedChecksPart
from floorlink.daemon.core.events import (
    ConflictDetected,
    FloorChanged,
    HostAssigned,
    HostSeated,
    WaitlistSeated,
    types_in,
)
from floorlink.daemon.core.floor import TableSpec
from floorlink.daemon.core.guests import GuestsPart
from floorlink.daemon.core.quotes import TableView
from floorlink.daemon.core.reservations import (
    ReservationsPart,
    conflicts_view,
    guest_payload,
    link_stats,
)
from floorlink.daemon.core.servers import ServersPart, assignments
from floorlink.daemon.core.state import Part, State
from floorlink.daemon.core.waitlist import PagingRules, WaitlistPart, quote_accuracy
from floorlink.daemon.floor_admin import floor_of, layout_view
from floorlink.daemon.live_views import reservations_copy, waitlist_copy
from floorlink.daemon.plugins import PAGER_PROTOCOLS

if TYPE_CHECKING:
    from floorlink.daemon.config import Config
    from floorlink.daemon.engine import Engine

JSON = dict[str, Any]


def build_state(config: Config, floor: tuple[TableSpec, ...] | None = None) -> State:
    """The state a config describes: the floor (`floor`: the one the log starts from,
    floor_admin.seed_tables; else the config's) and the parts that fold beside it."""
    tz = ZoneInfo(config.site.timezone)
    specs = floor if floor is not None else floor_of(config)
    views = tuple(TableView(t.id, t.seats, t.combine_with) for t in specs)
    rules = PagingRules(
        trigger=config.paging.trigger,
        page_after_close_minutes=config.paging.page_after_close_minutes,
        heads_up_minutes=config.paging.heads_up_minutes,
        repage_after_minutes=config.paging.repage_after_minutes,
        max_pages=config.paging.max_pages,
        combine_tables=config.paging.combine_tables,
        alert_type=config.pager.alert_type if config.pager else 1,
        text_paging=config.pager is not None and PAGER_PROTOCOLS.get(config.pager.protocol).texts,
    )
    cloud = bool(config.cloud and config.cloud.url)
    reservations = ReservationsPart(
        tz, config.paging.hold_window_minutes, country=config.site.country
    )
    waitlist = WaitlistPart(views, tz, rules)
    projection = ClosedChecksPart(readers=[waitlist.learn])
    parts: list[Part] = [projection, waitlist, reservations, ServersPart(), GuestsPart()]
    state = State(specs, tz, cloud, parts)
    projection.bind(state)
    return state


def waitlist_of(state: State) -> WaitlistPart:
    part = state.part("waitlist")
    assert isinstance(part, WaitlistPart)
    return part


def reservations_of(state: State) -> ReservationsPart:
    part = state.part("reservations")
    assert isinstance(part, ReservationsPart)
    return part


def servers_of(state: State) -> ServersPart:
    part = state.part("servers")
    assert isinstance(part, ServersPart)
    return part


def holdable(state: State) -> Callable[[str], bool | None]:
    """Can a reservation hold this table now: True, False (taken or held), None (no such table)."""

    def check(tid: str) -> bool | None:
        ts = state.floor.states.get(tid)
        if ts is None:
            return None
        return ts.status not in ("seated", "check_dropped", "bussing") and not ts.held_for

    return check


def guests_by_table(state: State) -> dict[str, JSON]:
    """table -> the guest object for the POS, for every table seated from a reservation."""
    part = reservations_of(state)
    out: dict[str, JSON] = {}
    for tid, ts in state.floor.states.items():
        rid = ts.party.reservation if ts.party else None
        if rid and ts.status in ("seated", "check_dropped"):
            payload = guest_payload(part, tid, rid)
            if payload is not None:
                out[tid] = payload
    return out


def _types(*groups: str, also: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The logged event types of these registry groups (plus `also`), as the engine's triggers:
    full type names, each its own prefix."""
    return tuple(sorted(types_in(*groups) | set(also)))


def register_views(engine: Engine, tz: ZoneInfo) -> None:
    """The read-side copies the engine refreshes after a commit that logs one of their types.

    Live views are a copy per commit that changes the part, rendered at the time of each read;
    the live estimates move with the floor, so a fired course or a paid check rebuilds them."""
    builders = engine.view_builders
    builders["waitlist"] = (
        _types("waitlist", "check", "table", "hold", "host", "floor"),
        lambda state: waitlist_copy(waitlist_of(state), state.floor),
    )
    builders["quote_errors"] = (
        _types("waitlist"),
        lambda state: (waitlist_of(state).quotes_recorded, list(waitlist_of(state).errors[-50:])),
    )
    # Quote against seat, per service day and party size (the status shows it).
    builders["quote_accuracy"] = (
        (WaitlistSeated.TYPE,),
        lambda state: quote_accuracy(waitlist_of(state)),
    )
    builders["reservations"] = (
        _types("reservations", "hold", also=(HostSeated.TYPE,)),
        lambda state: reservations_copy(reservations_of(state)),
    )
    builders["conflicts"] = (
        (ConflictDetected.TYPE,),
        lambda state: conflicts_view(reservations_of(state), tz),
    )
    builders["links"] = (
        _types("reservations", also=(HostSeated.TYPE,)),
        lambda state: link_stats(reservations_of(state)),
    )
    builders["guests"] = (
        _types("host", "check", "table", "hold", "reservations", also=(WaitlistSeated.TYPE,)),
        guests_by_table,
    )
    builders["servers"] = ((HostAssigned.TYPE,), lambda state: assignments(servers_of(state)))
    builders["floor"] = ((FloorChanged.TYPE,), layout_view)  # the floor the log records
