"""POS check events: MQTT payload bytes -> a validated core `Input`, or a readable rejection.

Contract section 3. Unknown fields are ignored (terminals may send more than we read); unknown
types, wrong types, missing fields, bad timestamps and bodies over 16 KiB are rejected with a
sentence the terminal's integrator can act on.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from floorlink.daemon.core.events import EVENTS, POS_EVENTS
from floorlink.daemon.core.state import Input
from floorlink.daemon.core.text import storable
from floorlink.daemon.core.timeutil import parse_rfc3339

MAX_PAYLOAD_BYTES = 16 * 1024
TERMINAL_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DECIMAL_RE = re.compile(r"^-?\d{1,9}(\.\d{1,4})?$")


#: The event types a POS may send, and the fields each must carry beyond id, type and at: read
#: from the core's event registry, in the contract's order.
REQUIRED: dict[str, tuple[str, ...]] = {t: EVENTS[t].required() for t in POS_EVENTS}

Text64 = Annotated[str, Field(min_length=1, max_length=64)]


def _decimal(value: str) -> str:
    if not DECIMAL_RE.match(value):
        raise ValueError(f'expected a decimal string such as "12.50", got {json.dumps(value)}')
    try:
        Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already guards this
        raise ValueError("expected a decimal string") from exc
    return value


class Item(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    name: Annotated[str, Field(min_length=1, max_length=200)]
    qty: Annotated[int, Field(ge=1, le=10_000)]
    price: str
    course: Literal["apps", "entrees", "dessert"] | None = None
    sku: Annotated[str, Field(max_length=64)] | None = None

    @field_validator("price")
    @classmethod
    def _price(cls, v: str) -> str:
        return _decimal(v)


class PosEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    id: Text64
    type: str
    at: str
    check: Text64 | None = None
    table: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,16}$")] | None = None
    guests: Annotated[int, Field(ge=1, le=1000)] | None = None
    server: Text64 | None = None
    course: Literal["apps", "entrees", "dessert"] | None = None
    items: Annotated[list[Item], Field(max_length=500)] | None = None
    total: str | None = None
    tip: str | None = None

    @field_validator("total", "tip")
    @classmethod
    def _money(cls, v: str | None) -> str | None:
        return None if v is None else _decimal(v)

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        if v not in REQUIRED:
            raise ValueError(f"expected one of {', '.join(REQUIRED)}, got {json.dumps(v)[:60]}")
        return v

    @field_validator("at")
    @classmethod
    def _at(cls, v: str) -> str:
        try:
            parse_rfc3339(v)
        except ValueError as exc:
            raise ValueError(f"{exc}, got {json.dumps(v)}") from None
        return v


class PosRejected(Exception):
    """A payload we cannot take. `eid` is the event id when it is a valid one (the store keys the
    rejection by it, so a resend is answered the same); `reply_id` is whatever id the payload
    carried, valid or not (too long, not Unicode), so the terminal still hears why. With neither
    there is nobody to answer: the shell logs, counts and dead-letters it."""

    def __init__(self, error: str, eid: str | None, reply_id: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.eid = eid
        self.reply_id = reply_id if reply_id is not None else eid


def _describe(err: Any) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "payload"
    kind = err["type"]
    try:
        got = json.dumps(err.get("input"), default=str)
    except (RecursionError, ValueError):  # nested too deep to show: say what it is
        got = type(err.get("input")).__name__
    if len(got) > 60:
        got = got[:57] + "..."
    if kind == "missing":
        return f"{loc}: missing"
    if kind == "literal_error":
        return f"{loc}: expected {err['ctx']['expected']}, got {got}"
    if kind.startswith("int"):
        return f"{loc}: expected an integer, got {got}"
    if kind.startswith("string"):
        return f"{loc}: expected a string, got {got}"
    if kind == "value_error":
        return f"{loc}: {err['msg'].removeprefix('Value error, ')}"
    return f"{loc}: {err['msg']}, got {got}"


def parse_pos_event(terminal: str, payload: bytes) -> Input:
    """Validate one POS payload from `terminal`; raise PosRejected with a readable reason."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PosRejected(
            f"payload is {len(payload)} bytes; the limit is 16 KiB", _peek_id(payload)
        )
    try:
        text = payload.decode("utf-8")
        raw = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PosRejected(f"payload is not UTF-8 JSON: {exc}", None) from None
    except RecursionError:
        raise PosRejected("payload is nested too deeply to be a POS event", None) from None
    if not isinstance(raw, dict):
        raise PosRejected("payload must be one JSON object", None)
    rid = raw.get("id") if isinstance(raw.get("id"), str) else None
    # Valid UTF-8 bytes can hold a lone surrogate only as a JSON escape: check only then.
    unicode_ok = "\\u" not in text or storable(json.dumps(raw, ensure_ascii=False))
    eid = rid if rid is not None and 0 < len(rid) <= 64 and storable(rid) else None
    if not unicode_ok:
        raise PosRejected(
            "payload holds text that is not valid Unicode (a lone UTF-16 surrogate such as"
            " \\ud800)",
            eid,
            rid,
        )
    if rid is not None and eid is None:
        why = "at most 64 characters" if len(rid) > 64 else "1 to 64 characters"
        raise PosRejected(f"id: expected {why}, got {len(rid)}", None, rid)
    try:
        event = PosEvent.model_validate(raw)
    except ValidationError as exc:
        raise PosRejected("; ".join(_describe(e) for e in exc.errors()[:5]), eid) from None
    missing = [f for f in REQUIRED[event.type] if getattr(event, f) is None]
    if missing:
        raise PosRejected(f"{event.type} needs {', '.join(missing)}", event.id)
    data = event.model_dump(exclude={"id", "type", "at"}, exclude_none=True)
    return Input(f"pos:{terminal}", event.id, event.type, parse_rfc3339(event.at), data)


def _peek_id(payload: bytes) -> str | None:
    """The id of an oversized payload, if it is readable JSON at all, so the terminal hears why."""
    try:
        raw = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and 0 < len(raw["id"]) <= 64:
        return str(raw["id"])
    return None
