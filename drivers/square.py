"""`[[inputs]] kind = "square"`: Square orders, polled from behind the NAT (read only).

Built from Square's public API reference, "Orders API: SearchOrders"
(developer.squareup.com/reference/square/orders-api/search-orders) and the guide "Search orders"
(developer.squareup.com/docs/orders-api/manage-orders/search-orders), read 2026-11-25, API version
2025-10-16. `POST /v2/orders/search` with `location_ids`, a `query.filter.date_time_filter.
updated_at.start_at` and `query.sort.sort_field` = `UPDATED_AT` (the sort field must be the field
filtered on), `limit` and the `cursor` of the previous page; the answer is `{orders, cursor}`.
Auth is `Authorization: Bearer {access token}` with a `Square-Version` header. Over the rate
limit Square answers 429 (`RATE_LIMITED`); no fixed number is published, so the default poll is
every 5 s, one request a round when little changes.

Square orders have no table field: the table comes from `ticket_name` through `table_pattern`
(a regular expression whose group `table` is looked up in the table names and aliases). An
order without a ticket name is a counter sale and is skipped; a ticket name that matches no table
is a counted rejection. The check number is the order id.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator

from floorlink.bridge.errors import TransientError
from floorlink.bridge.vendor_http import VendorHttp
from floorlink.daemon.core import events as ev
from floorlink.daemon.core.state import Input
from floorlink.daemon.core.timeutil import parse_rfc3339
from floorlink.daemon.engine import RejectInput
from floorlink.daemon.plugins import Plugin
from floorlink.daemon.sources import SourceContext
from floorlink.drivers.cloud_pos import CloudPosSource, PollOptions, money

SQUARE_VERSION = "2025-10-16"
DEFAULT_PATTERN = r"^\s*(?:table|tbl|tisch|mesa|t)?\s*[#.:-]?\s*(?P<table>[A-Za-z0-9_-]{1,16})\b"


class SquareOptions(PollOptions):
    url: str = Field("https://connect.squareup.com", description="Square's API base url")
    token: SecretStr = Field(description="a Square access token with ORDERS_READ")
    location_id: Annotated[str, Field(min_length=1, max_length=64)]
    table_pattern: str = Field(DEFAULT_PATTERN, description="regex on ticket_name; group `table`")
    limit: Annotated[int, Field(ge=1, le=500)] = 100

    @field_validator("table_pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        try:
            compiled = re.compile(v, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        if "table" not in compiled.groupindex:
            raise ValueError("expected a regular expression with a group named `table`")
        return v


class SquareSource(CloudPosSource):
    kind = "square"

    def __init__(self, name: str, options: SquareOptions, context: SourceContext) -> None:
        super().__init__(name, options, context)
        self.opts = options
        self.pattern = re.compile(options.table_pattern, re.IGNORECASE)
        self.http = VendorHttp(
            "Square",
            options.url,
            {
                "Authorization": f"Bearer {options.token.get_secret_value()}",
                "Square-Version": SQUARE_VERSION,
                "Content-Type": "application/json",
            },
            options.timeout_seconds,
        )

    async def close(self) -> None:
        await self.http.close()

    def table_of(self, ticket: str) -> str | None:
        """The table a ticket name stands for: the whole name first, then the pattern."""
        tid = self.context.resolve_table(ticket)
        if tid is not None:
            return tid
        m = self.pattern.search(ticket)
        return self.context.resolve_table(m.group("table")) if m else None

    async def poll(self, since_ms: int) -> tuple[list[Input | RejectInput], int]:
        since = datetime.fromtimestamp(since_ms / 1000, UTC).isoformat(timespec="milliseconds")
        query = {
            "filter": {
                "date_time_filter": {"updated_at": {"start_at": since}},
                "state_filter": {"states": ["OPEN", "COMPLETED", "CANCELED"]},
            },
            "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
        }
        body: dict[str, Any] = {
            "location_ids": [self.opts.location_id],
            "query": query,
            "limit": self.opts.limit,
        }
        inputs: list[Input | RejectInput] = []
        watermark = since_ms
        for _ in range(1000):
            page = await self.http.json("POST", "/v2/orders/search", json=body)
            if not isinstance(page, dict) or not isinstance(page.get("orders", []), list):
                raise TransientError("Square answered garbage: expected {orders, cursor}")
            for order in page.get("orders", []):
                mapped, updated = self.order_inputs(order)
                inputs.extend(mapped)
                watermark = max(watermark, updated)
            cursor = page.get("cursor")
            if not cursor:
                break
            body = {**body, "cursor": cursor}
        return inputs, watermark

    def order_inputs(self, order: Any) -> tuple[list[Input | RejectInput], int]:
        """One Square order as check events, and its updated_at (epoch ms)."""
        if not isinstance(order, dict) or not isinstance(order.get("id"), str):
            return [], 0
        oid = order["id"][:40]
        version = order.get("version", 0)
        try:
            created = parse_rfc3339(str(order.get("created_at")))
            updated = parse_rfc3339(str(order.get("updated_at") or order.get("created_at")))
        except ValueError as exc:
            rejected = self.reject(f"{oid}:v{version}:unreadable", f"order {oid}: {exc}")
            return ([rejected] if rejected else []), 0
        ticket = order.get("ticket_name")
        if not isinstance(ticket, str) or not ticket.strip():
            return [], updated  # a counter sale: no table to follow
        table = self.table_of(ticket)
        if table is None:
            reason = f"ticket name {ticket[:40]!r} matches no table (order {oid})"
            rejected = self.reject(f"{oid}:v{version}:unplaced", reason)
            return ([rejected] if rejected else []), updated
        src = self.source
        out: list[Input | RejectInput] = [
            Input(
                src, f"{oid}:opened", ev.CheckOpened.TYPE, created, {"check": oid, "table": table}
            ),
            Input(
                src,
                f"{oid}:v{version}:at:{table}",
                ev.CheckTransferred.TYPE,
                updated,
                {"check": oid, "table": table},
            ),
        ]
        for item in order.get("line_items") or []:
            line = _line_item(item)
            if line is not None:
                uid, entry = line
                out.append(
                    Input(
                        src,
                        f"{oid}:item:{uid}",
                        ev.CheckItemsAdded.TYPE,
                        updated,
                        {"check": oid, "items": [entry]},
                    )
                )
        state = order.get("state")
        if state == "COMPLETED":
            try:
                closed = parse_rfc3339(str(order.get("closed_at") or order.get("updated_at")))
            except ValueError:
                closed = updated
            data: dict[str, Any] = {
                "check": oid,
                "total": money((order.get("total_money") or {}).get("amount")) or "0.00",
            }
            tip = money((order.get("total_tip_money") or {}).get("amount"))
            if tip is not None:
                data["tip"] = tip
            out.append(Input(src, f"{oid}:closed", ev.CheckClosed.TYPE, closed, data))
        elif state == "CANCELED":
            out.append(Input(src, f"{oid}:voided", ev.CheckVoided.TYPE, updated, {"check": oid}))
        return out, updated


def _line_item(item: Any) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(item, dict):
        return None
    uid = item.get("uid")
    name = item.get("name") or item.get("variation_name")
    if not isinstance(uid, str) or not isinstance(name, str) or not name:
        return None
    try:
        qty = max(1, round(float(item.get("quantity") or 1)))
    except (TypeError, ValueError):
        qty = 1
    price = money((item.get("base_price_money") or {}).get("amount")) or "0.00"
    return uid[:64], {"name": name[:200], "qty": qty, "price": price}


PLUGIN: Plugin[Any] = Plugin("square", SquareOptions, SquareSource, "Square orders (polled)")
