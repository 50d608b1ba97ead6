"""`[[inputs]] kind = "toast"`: Toast orders, polled from behind the NAT (read only).

Built from the Toast developer guide and API reference at doc.toasttab.com, read 2026-11-25
(orders API 2.x): "Getting detailed information about multiple orders"
(doc/devguide/apiOrdersGetDetailedInfoAboutMultipleOrders.html) and the `ordersBulk` operation
(openapi/orders/operation/ordersBulkGet): `GET /orders/v2/ordersBulk?startDate&endDate&page&
pageSize` selects orders *modified* in [startDate, endDate), each an Order with `guid`, `table`
and `server` (references by guid), `numberOfGuests`, `openedDate`, `modifiedDate`, `paidDate`,
`closedDate`, `voided`, and `checks[]` (`guid`, `displayNumber`, `paymentStatus` OPEN / PAID /
CLOSED, `totalAmount`, `voided`, `payments[].tipAmount`, `selections[]` with `displayName`,
`quantity`, `price`, `fulfillmentStatus` NEW / HOLD / SENT / READY, `voided`). Table names come
from the configuration API, `GET /config/v2/tables`. Every request carries
`Toast-Restaurant-External-ID`; the token comes from `POST /authentication/v1/authentication/login`
with the client id and secret (`userAccessType` TOAST_MACHINE_CLIENT). Rate limits: 20 requests/s
and 10,000 per 15 minutes per restaurant; the default poll (5 s) uses a small share.

Each Toast check is one Floorlink check (number: `displayNumber`, so a printed receipt reconciles
with it, or the check guid with `check_number = "guid"`). Toast orders carry no course field
(orders API 2.9.0, `Selection`): a selection names its menu group (`itemGroup`, a guid) and says
where it is in the kitchen (`fulfillmentStatus`: NEW, HOLD paused, SENT fired to the KDS, READY).
The menu groups' names come from the menus API (`GET /menus/v2/menus`, menus API 2.4.1: each
`MenuGroup` has `guid`, `name` and nested `menuGroups`), read again when an unknown group shows
up. `courses` maps group names to a course ("Appetizers" -> apps); the first selection of a course
that is SENT or READY fires that course, in menu order (apps, entrees, dessert), and the items
carry their course. A fired selection whose group maps to no course fires `default_course`. A
check whose payment status goes back from PAID to OPEN stays closed here (check facts only grow).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

import structlog
from pydantic import Field, SecretStr

from floorlink.bridge.errors import PermanentError, TransientError
from floorlink.bridge.vendor_http import VendorHttp
from floorlink.daemon.core import events as ev
from floorlink.daemon.core.state import Input
from floorlink.daemon.core.timeutil import parse_rfc3339
from floorlink.daemon.engine import RejectInput
from floorlink.daemon.plugins import Plugin
from floorlink.daemon.sources import SourceContext
from floorlink.drivers.cloud_pos import CloudPosSource, PollOptions

log = structlog.get_logger(__name__)

FIRED = ("SENT", "READY")
Course = Literal["apps", "entrees", "dessert"]
COURSE_ORDER: tuple[Course, ...] = ("apps", "entrees", "dessert")
#: Menu group names as restaurants commonly call them (matched without case); `courses` adds more.
COMMON_COURSES: dict[str, Course] = {
    "appetizers": "apps",
    "starters": "apps",
    "small plates": "apps",
    "entrees": "entrees",
    "mains": "entrees",
    "desserts": "dessert",
    "dessert": "dessert",
}


class ToastOptions(PollOptions):
    url: str = Field("https://ws-api.toasttab.com", description="Toast's API host")
    client_id: Annotated[str, Field(min_length=1, max_length=200)]
    client_secret: SecretStr
    restaurant: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="the restaurant's GUID (Toast-Restaurant-External-ID)"
    )
    page_size: Annotated[int, Field(ge=1, le=100)] = 100
    check_number: Literal["display", "guid"] = "display"
    courses: dict[str, Course] = Field(
        default_factory=dict,
        description="menu group name -> course (apps / entrees / dessert), beside the common "
        "names (Appetizers, Starters, Entrees, Mains, Desserts)",
    )
    default_course: Course = Field(
        "entrees", description="the course a fired selection of an unmapped menu group fires"
    )


def _toast_time(ms: int) -> str:
    """Toast's ISO-8601 with a fraction of a second: 2016-01-01T14:13:12.000+0000."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _ms(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    text = value
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # +0000 -> +00:00
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        return parse_rfc3339(text)
    except ValueError:
        return None


def _item_groups(orders: list[Any]) -> set[str]:
    """The menu group guids the orders' selections name."""
    return {
        g
        for o in orders
        if isinstance(o, dict)
        for c in o.get("checks") or []
        if isinstance(c, dict)
        for s in c.get("selections") or []
        if isinstance(s, dict) and (g := _guid(s.get("itemGroup"))) is not None
    }


def _guid(ref: Any) -> str | None:
    return ref.get("guid") if isinstance(ref, dict) and isinstance(ref.get("guid"), str) else None


class ToastSource(CloudPosSource):
    kind = "toast"

    def __init__(self, name: str, options: ToastOptions, context: SourceContext) -> None:
        super().__init__(name, options, context)
        self.opts = options
        self.http = VendorHttp(
            "Toast",
            options.url,
            {"Toast-Restaurant-External-ID": options.restaurant, "Accept": "application/json"},
            options.timeout_seconds,
        )
        self.logged_in = False
        self.tables: dict[str, str] = {}  # Toast table guid -> its name
        self.groups: dict[str, str] = {}  # Toast menu group guid -> its name
        self.courses = COMMON_COURSES | {k.casefold(): v for k, v in options.courses.items()}
        self.menus_failed = ""  # why the menu groups could not be read (then default_course)
        self.unknown_groups: set[str] = set()  # named by selections, not in the menus read

    async def close(self) -> None:
        await self.http.close()

    async def login(self) -> None:
        answer = await self.http.json(
            "POST",
            "/authentication/v1/authentication/login",
            json={
                "clientId": self.opts.client_id,
                "clientSecret": self.opts.client_secret.get_secret_value(),
                "userAccessType": "TOAST_MACHINE_CLIENT",
            },
        )
        token = answer.get("token") if isinstance(answer, dict) else None
        access = token.get("accessToken") if isinstance(token, dict) else None
        if not isinstance(access, str) or not access:
            raise TransientError("Toast answered garbage: no token.accessToken in the login")
        self.http.set_header("Authorization", f"Bearer {access}")
        self.logged_in = True

    async def get(self, path: str) -> Any:
        """GET with the token, logging in again once when it has expired (401)."""
        if not self.logged_in:
            await self.login()
        try:
            return await self.http.json("GET", path)
        except PermanentError as exc:
            if exc.status != 401:
                raise
            await self.login()
            return await self.http.json("GET", path)

    async def load_tables(self) -> None:
        rows = await self.get("/config/v2/tables")
        if not isinstance(rows, list):
            raise TransientError("Toast answered garbage: expected a list of tables")
        self.tables = {
            r["guid"]: str(r.get("name") or "")
            for r in rows
            if isinstance(r, dict) and isinstance(r.get("guid"), str)
        }

    async def load_groups(self) -> None:
        """Menu group names from the menus API; without them every fired item is
        `default_course` (a client without the menus:read scope still follows the floor)."""
        try:
            restaurant = await self.get("/menus/v2/menus")
        except PermanentError as exc:
            if not self.menus_failed:
                log.warning("Toast menus unreadable: courses fall back", error=str(exc))
            self.menus_failed = str(exc)[:200]
            return
        groups: dict[str, str] = {}
        stack = [
            g
            for m in (restaurant.get("menus") if isinstance(restaurant, dict) else None) or []
            if isinstance(m, dict)
            for g in m.get("menuGroups") or []
        ]
        while stack:
            group = stack.pop()
            if not isinstance(group, dict):
                continue
            if isinstance(group.get("guid"), str) and isinstance(group.get("name"), str):
                groups[group["guid"]] = group["name"]
            stack.extend(group.get("menuGroups") or [])
        self.groups = groups
        self.menus_failed = ""

    def course_of(self, selection: dict[str, Any]) -> Course | None:
        """The course of a selection by its menu group's name, or None if unmapped."""
        name = self.groups.get(_guid(selection.get("itemGroup")) or "")
        return self.courses.get(name.casefold()) if name else None

    async def poll(self, since_ms: int) -> tuple[list[Input | RejectInput], int]:
        end_ms = self.context.clock() + 60_000
        orders: list[Any] = []
        page = 1
        while page <= 1000:
            q = (
                f"startDate={quote(_toast_time(since_ms))}&endDate={quote(_toast_time(end_ms))}"
                f"&pageSize={self.opts.page_size}&page={page}"
            )
            batch = await self.get(f"/orders/v2/ordersBulk?{q}")
            if not isinstance(batch, list):
                raise TransientError("Toast answered garbage: expected a list of orders")
            orders.extend(batch)
            if len(batch) < self.opts.page_size:
                break
            page += 1
        wanted = {_guid(o.get("table")) for o in orders if isinstance(o, dict)} - {None}
        if wanted - set(self.tables):
            await self.load_tables()  # a table added in Toast since we last looked
        groups = _item_groups(orders) - set(self.groups) - self.unknown_groups
        if groups and not self.menus_failed:
            await self.load_groups()  # a menu group added since we last looked
            self.unknown_groups |= groups - set(self.groups)  # not again (1 read/s at most)
        inputs: list[Input | RejectInput] = []
        watermark = since_ms
        for order in orders:
            mapped, modified = self.order_inputs(order)
            inputs.extend(mapped)
            watermark = max(watermark, modified)
        return inputs, watermark

    def order_inputs(self, order: Any) -> tuple[list[Input | RejectInput], int]:
        """One Toast order as check events (one Floorlink check per Toast check)."""
        if not isinstance(order, dict) or not isinstance(order.get("guid"), str):
            return [], 0
        og = order["guid"][:40]
        opened = _ms(order.get("openedDate")) or _ms(order.get("createdDate"))
        modified = _ms(order.get("modifiedDate")) or opened
        if opened is None or modified is None:
            rejected = self.reject(f"{og}:unreadable", f"order {og}: no readable openedDate")
            return ([rejected] if rejected else []), 0
        table_guid = _guid(order.get("table"))
        if table_guid is None:
            return [], modified  # takeout or delivery: no table to follow
        name = self.tables.get(table_guid)
        table = self.context.resolve_table(name) if name else None
        if table is None:
            reason = f"Toast table {name or table_guid!r} matches no table (order {og})"
            rejected = self.reject(f"{og}:m{modified}:unplaced", reason)
            return ([rejected] if rejected else []), modified
        guests = order.get("numberOfGuests")
        guests = guests if type(guests) is int and guests >= 1 else None
        server = _guid(order.get("server"))
        out: list[Input | RejectInput] = []
        checks = [
            c
            for c in order.get("checks") or []
            if isinstance(c, dict) and isinstance(c.get("guid"), str)
        ]
        for n, check in enumerate(checks):
            # the guests are the order's: a split check does not bring more people
            party = guests if n == 0 else None
            out.extend(self.check_inputs(order, check, table, party, server, opened, modified))
        return out, modified

    def check_inputs(
        self,
        order: dict[str, Any],
        check: dict[str, Any],
        table: str,
        guests: int | None,
        server: str | None,
        opened: int,
        modified: int,
    ) -> list[Input | RejectInput]:
        cg = check["guid"][:40]
        number = (
            str(check.get("displayNumber") or "") if self.opts.check_number == "display" else ""
        )
        number = (number or cg)[:64]
        src = self.source
        base: dict[str, Any] = {"check": number}
        opened_data = {**base, "table": table}
        if guests is not None:
            opened_data["guests"] = guests
        if server is not None:
            opened_data["server"] = server[:64]
        out: list[Input | RejectInput] = [
            Input(src, f"{cg}:opened", ev.CheckOpened.TYPE, opened, opened_data),
            Input(
                src,
                f"{cg}:m{modified}:at",
                ev.CheckTransferred.TYPE,
                modified,
                {**base, "table": table},
            ),
        ]
        if guests is not None:
            data = {**base, "guests": guests}
            out.append(Input(src, f"{cg}:m{modified}:guests", ev.CheckUpdated.TYPE, modified, data))
        fired: set[Course] = set()
        for sel in check.get("selections") or []:
            if (
                not isinstance(sel, dict)
                or not isinstance(sel.get("guid"), str)
                or sel.get("voided")
            ):
                continue
            course = self.course_of(sel)
            if sel.get("fulfillmentStatus") in FIRED:
                fired.add(course or self.opts.default_course)
            name = sel.get("displayName")
            if not isinstance(name, str) or not name:
                continue
            qty = sel.get("quantity")
            item = {
                "name": name[:200],
                "qty": max(1, round(qty)) if isinstance(qty, int | float) else 1,
                "price": f"{float(sel.get('price') or 0):.2f}",
            }
            if course is not None:
                item["course"] = course
            out.append(
                Input(
                    src,
                    f"{sel['guid'][:40]}:item",
                    ev.CheckItemsAdded.TYPE,
                    modified,
                    {**base, "items": [item]},
                )
            )
        for course in (c for c in COURSE_ORDER if c in fired):
            data = {**base, "course": course}
            out.append(Input(src, f"{cg}:fired:{course}", ev.CheckCourseFired.TYPE, modified, data))
        if order.get("voided") or check.get("voided"):
            out.append(Input(src, f"{cg}:voided", ev.CheckVoided.TYPE, modified, base))
        elif check.get("paymentStatus") in ("PAID", "CLOSED"):
            at = _ms(check.get("paidDate")) or _ms(order.get("paidDate")) or modified
            total = check.get("totalAmount")
            data = {**base, "total": f"{float(total or 0):.2f}"}
            tips: list[float] = [
                float(p["tipAmount"])
                for p in check.get("payments") or []
                if isinstance(p, dict) and isinstance(p.get("tipAmount"), int | float)
            ]
            if tips:
                data["tip"] = f"{sum(tips):.2f}"
            out.append(Input(src, f"{cg}:closed", ev.CheckClosed.TYPE, at, data))
        return out


PLUGIN: Plugin[Any] = Plugin("toast", ToastOptions, ToastSource, "Toast orders (polled)")
