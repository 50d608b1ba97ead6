"""The `resos` reservation provider: resOS's public REST API (v1.2), pulled from behind the NAT.

Built from "resOS API (v1.2)", documenter.getpostman.com/view/3308304/SzzehLGp (read 2026-11-25,
the collection says "latest update v1.2"): `GET /v1/bookings?fromDateTime&toDateTime&limit&skip`
answers a JSON array of bookings; `PUT /v1/bookings/{id}` changes one; the API key is the HTTP
Basic user name with no password; 100 requests/s with a fixed reset, every answer carrying
`Retry-After` in *milliseconds*.

resOS has no change feed, so each pull reads the bookings in a window around now (`past_hours`
back, `future_hours` ahead, `limit` a page) and hands the bridge only the ones that differ from
what it handed last. The cursor is a generation number that moves with each changed page, so a
booking changed and changed back is still a new page. After a restart the first pull hands
everything in the window and the core drops what it already has.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

import structlog
from pydantic import Field

from floorlink.bridge.errors import PermanentError, TransientError
from floorlink.bridge.provider import Page, ProviderContext
from floorlink.bridge.vendor_http import VendorHttp
from floorlink.daemon.core.timeutil import format_ms, parse_rfc3339
from floorlink.daemon.plugins import Options, Plugin

log = structlog.get_logger(__name__)

#: resOS booking status -> ours (contract section 6).
STATUS_IN = {
    "request": "booked",
    "waitlist": "booked",
    "approved": "confirmed",
    "arrived": "arrived",
    "seated": "seated",
    "left": "completed",
    "no_show": "no_show",
    "canceled": "cancelled",
    "cancelled": "cancelled",
    "declined": "cancelled",
    "deleted": "cancelled",
}
#: Our outbox events -> the resOS status they set. Other events are nothing resOS keeps.
STATUS_OUT = {
    "reservation.arrived": "arrived",
    "reservation.seated": "seated",
    "reservation.completed": "left",
    "reservation.no_show": "no_show",
}
SOURCE_IN = {"phone": "phone", "walkin": "walk_in", "walk_in": "walk_in", "walk-in": "walk_in"}
TRUE_WORDS = {"yes", "true", "1", "y", "vip", "ja", "si", "oui"}


class ResosOptions(Options):
    past_hours: Annotated[float, Field(ge=0, le=48)] = 6
    future_hours: Annotated[float, Field(gt=0, le=24 * 14)] = 36
    limit: Annotated[int, Field(ge=1, le=100)] = 100
    allergies_field: str = Field("Allergies", description="the custom field holding allergies")
    vip_field: str = Field("VIP", description="the custom field saying VIP (yes/true)")


class ResosProvider:
    name = "resos"
    #: resOS bookings carry no birthday, and VIP and allergies only through custom fields.
    cannot_supply = frozenset({"guest.birthday"})
    min_interval_s = 1.0  # 100 requests/s allows far more; a pull is a few requests

    def __init__(self, options: ResosOptions, context: ProviderContext) -> None:
        self.options = options
        self.context = context
        key = base64.b64encode(f"{context.token}:".encode()).decode()
        self.http = VendorHttp(
            "resOS",
            context.url,
            {"Authorization": f"Basic {key}", "Accept": "application/json"},
            context.timeout_s,
            retry_after_unit_s=0.001,
        )
        self._sent: dict[str, dict[str, Any]] = {}
        self._rejected: set[tuple[str, str]] = set()

    def __repr__(self) -> str:
        return f"ResosProvider({self.http.base!r})"

    # ---- pull ------------------------------------------------------------------------------

    async def pull(self, cursor: str | None) -> Page:
        now = time.time()
        start = _iso(now - self.options.past_hours * 3600)
        end = _iso(now + self.options.future_hours * 3600)
        bookings: list[Any] = []
        skip = 0
        while True:
            q = f"fromDateTime={quote(start)}&toDateTime={quote(end)}"
            q += f"&limit={self.options.limit}&skip={skip}"
            page = await self.http.json("GET", f"/v1/bookings?{q}")
            if not isinstance(page, list):
                raise TransientError("resOS answered garbage: expected a list of bookings")
            bookings.extend(page)
            if len(page) < self.options.limit:
                break
            skip += len(page)
        # No await from here on: once this returns, the puller queues the page in the same step,
        # so `_sent` never runs ahead of what was handed over, even if the pull is cancelled.
        changed: list[dict[str, Any]] = []
        for raw in bookings:
            record = self.record(raw)
            if record is None:
                continue
            if self._sent.get(record["id"]) != record:
                self._sent[record["id"]] = record
                changed.append(record)
        if not changed:
            return Page([], cursor)
        changed.sort(key=lambda r: r["id"])
        return Page(changed, str(_generation(cursor) + 1))

    def record(self, raw: Any) -> dict[str, Any] | None:
        """One resOS booking as a core reservation record, or None (logged and counted)."""
        if not isinstance(raw, dict) or not isinstance(raw.get("_id"), str) or not raw["_id"]:
            self._reject("?", "a booking without an _id")
            return None
        bid = raw["_id"][:128]
        try:
            at = self._time(raw)
            people = raw.get("people")
            if type(people) is not int or not 1 <= people <= 500:
                raise ValueError(f"people: expected 1 to 500, got {people!r}")
        except ValueError as exc:
            self._reject(bid, f"booking {bid}: {exc}")
            return None
        status = STATUS_IN.get(str(raw.get("status", "")).lower())
        if status is None:
            self._reject(bid, f"booking {bid}: unknown status {raw.get('status')!r}")
            return None
        guest_raw = raw.get("guest") if isinstance(raw.get("guest"), dict) else {}
        assert isinstance(guest_raw, dict)
        fields = _custom_fields(raw.get("customFields"))
        guest: dict[str, Any] = {
            "name": _text(guest_raw.get("name")),
            "phone": _text(guest_raw.get("phone")),
            "email": _text(guest_raw.get("email")),
            "notes": _text(raw.get("comment")),
            "allergies": _text(fields.get(self.options.allergies_field.casefold())),
            "vip": _truthy(fields.get(self.options.vip_field.casefold())),
        }
        record: dict[str, Any] = {
            "id": bid,
            "status": status,
            "time": format_ms(at, self.context.tz),
            "party_size": people,
            "source": SOURCE_IN.get(str(raw.get("source", "")).lower(), "online"),
            "guest": {k: v for k, v in guest.items() if v is not None},
        }
        table = self._table(bid, raw.get("tables"))
        if table is not None:
            record["table"] = table
        return record

    def _time(self, raw: Mapping[str, Any]) -> int:
        if isinstance(raw.get("dateTime"), str):
            return parse_rfc3339(raw["dateTime"])
        date, clock = raw.get("date"), raw.get("time")
        if isinstance(date, str) and isinstance(clock, str):
            local = datetime.fromisoformat(f"{date[:10]}T{clock}").replace(tzinfo=self.context.tz)
            return int(local.timestamp() * 1000)
        raise ValueError("no dateTime, nor date and time")

    def _table(self, bid: str, tables: Any) -> str | None:
        if not isinstance(tables, list) or not tables:
            return None
        names = [
            str(t.get("name")) if isinstance(t, dict) else str(t) for t in tables if t is not None
        ]
        for name in names:
            tid = self.context.names.resolve(name)
            if tid is not None:
                return tid
        self._reject(bid, f"booking {bid}: table {', '.join(names)!r} matches no table")
        return None

    def _reject(self, bid: str, reason: str) -> None:
        """Counted once per booking and reason, however often it is pulled again."""
        if (bid, reason) in self._rejected:
            return
        self._rejected.add((bid, reason))
        self.context.on_rejection(reason)

    # ---- push ------------------------------------------------------------------------------

    async def push(self, events: Sequence[Mapping[str, Any]]) -> None:
        for event in events:
            status = STATUS_OUT.get(str(event.get("type")))
            data = event.get("data") or {}
            rid = data.get("reservation") if isinstance(data, Mapping) else None
            if status is None or not rid:
                continue  # table.status, waitlist.*: nothing resOS keeps
            code, body, _ = await self.http.request(
                "PUT", f"/v1/bookings/{quote(str(rid), safe='')}", json={"status": status}
            )
            if code >= 400 and code != 409:
                raise PermanentError(code, body[:200].decode(errors="replace"))

    async def close(self) -> None:
        await self.http.close()


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="seconds")


def _generation(cursor: str | None) -> int:
    try:
        return int(cursor or 0)
    except ValueError:
        return 0


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, list):
        return ", ".join(str(_choice(v)) for v in value if v) or None
    return str(_choice(value))[:500]


def _choice(value: Any) -> Any:
    """A multiple-choice value ({"name": ..., "value": true}) as its name."""
    if isinstance(value, dict):
        return value.get("name") or value.get("value")
    return value


def _truthy(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    return str(_text(value) or "").strip().casefold() in TRUE_WORDS


def _custom_fields(raw: Any) -> dict[str, Any]:
    """Custom fields by lower-cased name; a multiple-choice field by its chosen name."""
    out: dict[str, Any] = {}
    if not isinstance(raw, list):
        return out
    for f in raw:
        if isinstance(f, dict) and isinstance(f.get("name"), str):
            value = f.get("multipleChoiceValueName") or f.get("value")
            out[f["name"].strip().casefold()] = value
    return out


PLUGIN: Plugin[Any] = Plugin("resos", ResosOptions, ResosProvider, "resOS (resos.com)")
