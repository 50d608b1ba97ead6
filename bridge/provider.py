"""The reservation provider seam: what the bridge needs from any reservation system.

A provider pulls a page of reservations changed since an opaque cursor, as core reservation
records (contract section 6: id, status, time, party_size, table, source, guest{...}), and pushes
a batch of our outbox events (`reservation.seated`, `table.status`, ...) in whatever shape its
vendor takes. It says which core fields its vendor cannot supply, so the docs and the stand can be
honest. It raises `TransientError` (retry: timeouts, 429 with its Retry-After, 5xx, garbage) or
`PermanentError` (a 4xx retrying cannot fix) and nothing else.

A provider is a plug-in of `daemon/plugins.py` RESERVATION_PROVIDERS, selected by
`[cloud] provider`, its options validated under `[cloud]`. Its factory takes
`(options, ProviderContext)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from floorlink.bridge.errors import CloudError, PermanentError, TransientError
from floorlink.daemon.names import TableNames

__all__ = [
    "CloudError",
    "Page",
    "PermanentError",
    "ProviderContext",
    "ReservationProvider",
    "TransientError",
]

#: Every field of a core reservation record (guest fields as guest.x).
CORE_FIELDS = (
    "id",
    "status",
    "time",
    "party_size",
    "table",
    "source",
    "guest.name",
    "guest.phone",
    "guest.email",
    "guest.vip",
    "guest.notes",
    "guest.allergies",
    "guest.birthday",
)


@dataclass(frozen=True, slots=True)
class Page:
    """Reservations changed since the cursor asked for, and the cursor to ask with next.
    `more`: the provider has more to give right now (ask again at once)."""

    reservations: list[dict[str, Any]]
    cursor: str | None
    more: bool = False


@dataclass(slots=True)
class ProviderContext:
    """What a provider may use: the site, its time zone and table names, the HTTP settings."""

    site: str
    tz: ZoneInfo
    names: TableNames
    url: str
    token: str = field(repr=False)  # never in a repr or a log line
    timeout_s: float = 10.0
    #: Called with a sentence each time the vendor names a table this site does not have.
    on_rejection: Callable[[str], None] = field(default=lambda reason: None)


class ReservationProvider(Protocol):
    name: str
    #: Core fields (CORE_FIELDS) this vendor cannot supply.
    cannot_supply: frozenset[str]
    #: Shortest pull interval the vendor's rate limit allows (seconds).
    min_interval_s: float

    async def pull(self, cursor: str | None) -> Page: ...

    async def push(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Deliver a batch in order. Returning means every event was taken (or is one this
        vendor has no use for)."""
        ...

    async def close(self) -> None: ...


class ProviderFactory(Protocol):
    def __call__(self, options: Any, context: ProviderContext) -> ReservationProvider: ...
