"""RFC 3339 <-> epoch milliseconds, the one time representation inside the core."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def parse_rfc3339(text: str) -> int:
    """Epoch ms of an RFC 3339 timestamp that carries an offset (`Z` or `+hh:mm`).

    Raises ValueError for anything else: a timestamp without an offset is ambiguous.
    """
    if not isinstance(text, str) or len(text) > 40:
        raise ValueError("expected an RFC 3339 timestamp")
    value = datetime.fromisoformat(text.replace("z", "Z"))
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "expected an RFC 3339 timestamp with an offset, e.g. 2026-11-22T19:31:05-08:00"
        )
    return int(value.timestamp() * 1000)


def format_ms(ms: int, tz: ZoneInfo) -> str:
    """`ms` as RFC 3339 in the site's time zone, to the second: 2026-11-22T19:31:05-08:00."""
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz).isoformat(timespec="seconds")
