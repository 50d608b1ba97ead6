"""RFC 3339 <-> epoch milliseconds, the one time representation inside the core."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

#: The instants the floor takes: 2000-01-01 to 2100-01-01 UTC. Outside them a timestamp is a
#: broken clock, and near year 1 or 9999 it cannot even be rendered in every time zone.
MIN_MS = 946_684_800_000
MAX_MS = 4_102_444_800_000


def parse_rfc3339(text: str) -> int:
    """Epoch ms of an RFC 3339 timestamp that carries an offset (`Z` or `+hh:mm`), between the
    years 2000 and 2099.

    Raises ValueError for anything else: a timestamp without an offset is ambiguous.
    """
    if not isinstance(text, str) or len(text) > 40:
        raise ValueError("expected an RFC 3339 timestamp")
    value = datetime.fromisoformat(text.replace("z", "Z"))
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "expected an RFC 3339 timestamp with an offset, e.g. 2026-11-22T19:31:05-08:00"
        )
    ms = int(value.timestamp() * 1000)
    if not MIN_MS <= ms < MAX_MS:
        raise ValueError("expected a timestamp between the years 2000 and 2099 (check the clock)")
    return ms


def format_ms(ms: int, tz: ZoneInfo) -> str:
    """`ms` as RFC 3339 in the site's time zone, to the second: 2026-11-22T19:31:05-08:00.

    Total: an instant outside the floor's range (only in a log written before the edge checked
    it) is rendered clamped, so such a store still opens."""
    ms = min(max(ms, MIN_MS), MAX_MS)
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz).isoformat(timespec="seconds")
