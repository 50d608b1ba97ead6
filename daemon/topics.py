"""Every MQTT topic Floorlink speaks, in one place (docs/mqtt.md documents the same list)."""

from __future__ import annotations

PREFIX = "floorlink/v1"
STATUS = f"{PREFIX}/status"
POS_EVENTS = f"{PREFIX}/pos/+/events"
WAITLIST = f"{PREFIX}/waitlist"
ONLINE = b"online"
OFFLINE = b"offline"


def pos_acks(terminal: str) -> str:
    return f"{PREFIX}/pos/{terminal}/acks"


def table(table_id: str) -> str:
    return f"{PREFIX}/tables/{table_id}"


def table_guest(table_id: str) -> str:
    return f"{PREFIX}/tables/{table_id}/guest"


def server(name: str) -> str:
    return f"{PREFIX}/servers/{name}"


def terminal_of(topic: str) -> str | None:
    """`floorlink/v1/pos/{terminal}/events` -> terminal, or None for any other topic."""
    parts = topic.split("/")
    if len(parts) == 5 and parts[:3] == ["floorlink", "v1", "pos"] and parts[4] == "events":
        return parts[3]
    return None


#: (topic pattern, direction, retained) for the docs test.
ALL = (
    (STATUS, "out", True),
    (POS_EVENTS, "in", False),
    (f"{PREFIX}/pos/{{terminal}}/acks", "out", False),
    (f"{PREFIX}/tables/{{table}}", "out", True),
    (f"{PREFIX}/tables/{{table}}/guest", "out", True),
    (WAITLIST, "out", True),
    (f"{PREFIX}/servers/{{server}}", "out", True),
)
