"""The Square and Toast pollers against loopback vendor APIs that answer as their references say:
the floor follows the vendor's orders, re-polls and version bumps are duplicates, a ticket name
matching no table is a counted rejection on the stand, an outage blinds only that source and
loses nothing, and a check seen by a poller and by a second source is one check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_pos_clouds import (
    SQUARE_TOKEN,
    TOAST_ID,
    TOAST_RESTAURANT,
    TOAST_SECRET,
    FakeSquare,
    FakeToast,
)
from support import write_config

from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.component import Component
from floorlink.daemon.config import ConfigError, load_config
from floorlink.daemon.core.state import Input
from floorlink.daemon.plugins import INPUT_SOURCES, Options, Plugin
from floorlink.daemon.sources import SourceContext
from floorlink.drivers.cloud_pos import CloudPosSource
from floorlink.drivers.toast import ToastSource

ALIASES = {"2": ["T2", "Table Two"], "8": ["Patio 12"]}


async def until(predicate: Callable[[], Any], timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
async def square() -> AsyncIterator[FakeSquare]:
    s = FakeSquare()
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def toast() -> AsyncIterator[FakeToast]:
    t = FakeToast()
    await t.start()
    yield t
    await t.stop()


def square_entry(square: FakeSquare, name: str = "front", **kw: Any) -> str:
    lines = [
        "[[inputs]]",
        'kind = "square"',
        f'name = "{name}"',
        f'url = "{square.url}"',
        f'token = "{SQUARE_TOKEN}"',
        'location_id = "LOC1"',
        "interval_seconds = 0.1",
        "timeout_seconds = 0.5",
        *(f"{k} = {v}" for k, v in kw.items()),
    ]
    return "\n".join(lines) + "\n"


def toast_entry(toast: FakeToast, **kw: Any) -> str:
    lines = [
        "[[inputs]]",
        'kind = "toast"',
        'name = "main"',
        f'url = "{toast.url}"',
        f'client_id = "{TOAST_ID}"',
        f'client_secret = "{TOAST_SECRET}"',
        f'restaurant = "{TOAST_RESTAURANT}"',
        "interval_seconds = 0.1",
        "timeout_seconds = 0.5",
        *(f"{k} = {v}" for k, v in kw.items()),
    ]
    return "\n".join(lines) + "\n"


async def started(tmp_path: Path, broker: EmbeddedBroker, extra: str) -> App:
    path = write_config(
        tmp_path / "floorlink.toml", broker.port, free_port(), extra=extra, aliases=ALIASES
    )
    app = App(load_config(path))
    await app.start()
    return app


def source(app: App, name: str) -> CloudPosSource:
    found = next(c for c in app.supervisor.components if c.name == name)
    assert isinstance(found, CloudPosSource)
    return found


async def polled(src: CloudPosSource) -> None:
    """Wait for a whole new poll round."""
    n = src.rounds
    await until(lambda: src.rounds >= n + 2)


def status_of(app: App, table: str) -> str:
    status: str = app.engine.tables[table]["status"]
    return status


def test_square_options_are_validated(tmp_path: Path, square: FakeSquare) -> None:
    extra = square_entry(square, table_pattern='"^(\\\\d+)$"')
    path = write_config(tmp_path / "f.toml", 1883, 8080, extra=extra)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.errors == [
        "inputs[0].table_pattern: expected a regular expression with a group named `table`"
    ]
    extra = square_entry(square).replace('location_id = "LOC1"\n', "")
    path = write_config(tmp_path / "f.toml", 1883, 8080, extra=extra)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.errors == ["inputs[0].location_id: missing (required)"]


async def test_square_orders_drive_the_floor_once(
    tmp_path: Path, broker: EmbeddedBroker, square: FakeSquare
) -> None:
    t0 = now_ms() - 60_000
    square.put("ORD-A", t0, ticket_name="Table Two")
    square.put("ORD-A", t0 + 1000, line_items=[_line("a1", "Burrata", "1", 1400)])
    square.put("ORD-B", t0 + 2000, ticket_name="T 5 - window")  # the pattern: table 5
    square.put("ORD-X", t0 + 3000, ticket_name="Bar tab Joe")  # matches no table
    square.put("ORD-Q", t0 + 3000)  # no ticket: a counter sale, skipped
    app = await started(tmp_path, broker, square_entry(square, limit=2))
    try:
        src = source(app, "input.square.front")
        await until(lambda: status_of(app, "2") == "seated" and status_of(app, "5") == "seated")
        await polled(src)
        assert len(square.bodies) >= 3 and any("cursor" in b for b in square.bodies)  # paged
        assert app.engine.state.floor.checks["ORD-A"].items  # the line item
        accepted = src.accepted
        # a re-poll of unchanged orders changes nothing: every id is a duplicate
        await polled(src)
        assert src.accepted == accepted and src.duplicates > 0
        # the ticket name that matches no table: one counted rejection, shown in status
        rejections = app.status()["rejections"]
        assert rejections["input.square.front"]["count"] == 1
        assert "'Bar tab Joe' matches no table" in rejections["input.square.front"]["last"]
        # a version bump of the same order (renamed to another table, an item added): one
        # transfer and one new item, the old facts stay duplicates
        square.put(
            "ORD-A",
            now_ms(),
            ticket_name="Patio 12",
            line_items=[_line("a1", "Burrata", "1", 1400), _line("a2", "Negroni", "2", 1200)],
        )
        await until(lambda: status_of(app, "8") == "seated")
        assert status_of(app, "2") == "bussing"  # the party moved on
        facts = app.engine.state.floor.checks["ORD-A"]
        assert sorted(i["name"] for items in facts.items.values() for i in items) == [
            "Burrata",
            "Negroni",
        ]
        square.put("ORD-A", now_ms(), state="COMPLETED", total_money={"amount": 4000})
        await until(lambda: status_of(app, "8") == "bussing")
        assert app.engine.state.floor.checks["ORD-A"].total == "40.00"
        square.put("ORD-B", now_ms(), state="CANCELED")
        await until(lambda: status_of(app, "5") == "available")
        await polled(src)
        assert app.status()["rejections"]["input.square.front"]["count"] == 1
        assert square.refused == 0
    finally:
        await app.stop()


@pytest.mark.parametrize("failure", ["500", "429", "garbage", "slow", "drop"])
async def test_square_outage_blinds_the_source_and_loses_nothing(
    tmp_path: Path, broker: EmbeddedBroker, square: FakeSquare, failure: str
) -> None:
    t0 = now_ms() - 10_000
    square.put("ORD-1", t0, ticket_name="1")
    app = await started(tmp_path, broker, square_entry(square))
    try:
        src = source(app, "input.square.front")
        await until(lambda: status_of(app, "1") == "seated")
        square.mode = failure
        await until(lambda: src.blind is not None)
        blind = [line for line in app.status()["degraded"] if "square:front is blind" in line]
        assert blind and app.status()["components"]["input.square.front"]["up"] is False
        # the restaurant goes on while the source is blind: orders pile up in the cloud
        square.put("ORD-1", now_ms(), state="COMPLETED", total_money={"amount": 2500})
        for n in (3, 4, 6):
            square.put(f"ORD-{n}", now_ms(), ticket_name=str(n))
        assert status_of(app, "1") == "seated"
        square.mode = "ok"
        await until(lambda: src.blind is None)
        await until(lambda: all(status_of(app, t) == "seated" for t in ("3", "4", "6")))
        assert status_of(app, "1") == "bussing"
        await polled(src)
        checks = app.engine.state.floor.checks
        assert sorted(checks) == ["ORD-1", "ORD-3", "ORD-4", "ORD-6"]  # nothing lost, no double
        assert app.status()["components"]["input.square.front"]["up"] is True
    finally:
        await app.stop()


async def test_toast_orders_checks_courses_and_payment(
    tmp_path: Path, broker: EmbeddedBroker, toast: FakeToast
) -> None:
    toast.tables = {"tg-2": "Table Two", "tg-8": "Patio 12", "tg-9": "Roof 1"}
    t0 = now_ms() - 60_000
    toast.put(
        "o-1",
        t0,
        table={"guid": "tg-2", "entityType": "Table"},
        server={"guid": "srv-anna", "entityType": "RestaurantUser"},
        numberOfGuests=3,
        checks=[
            _check("c-1", "101", [_sel("s-1", "Soup", "NEW")]),
            _check("c-2", "102", []),  # a split check on the same table
        ],
    )
    toast.put("o-2", t0, table={"guid": "tg-9", "entityType": "Table"}, checks=[_check("c-9", "9")])
    toast.put("o-3", t0, checks=[_check("c-t", "77")])  # takeout: no table
    app = await started(tmp_path, broker, toast_entry(toast, page_size=1))
    try:
        src = source(app, "input.toast.main")
        await until(lambda: status_of(app, "2") == "seated")
        table = app.engine.tables["2"]
        assert table["guests"] == 3 and sorted(table["checks"]) == ["101", "102"]
        assert "77" not in app.engine.state.floor.checks
        assert app.status()["rejections"]["input.toast.main"]["count"] == 1  # "Roof 1"
        # the kitchen gets the soup: a course is fired
        toast.put("o-1", now_ms(), checks=[_check("c-1", "101", [_sel("s-1", "Soup", "SENT")])])
        await until(lambda: app.engine.tables["2"]["course"] == "entrees")
        # the token expires: the poller logs in again and carries on
        toast.expire_tokens()
        logins = toast.logins
        toast.put("o-1", now_ms(), numberOfGuests=4)
        await until(lambda: app.engine.tables["2"]["guests"] == 4)
        assert toast.logins == logins + 1
        # a new table appears in Toast: the table names are read again
        toast.tables["tg-12"] = "T2"
        paid = [
            _check("c-1", "101", [_sel("s-1", "Soup", "SENT")], "PAID", 31.5),
            _check("c-2", "102", [], "CLOSED", 0),
        ]
        toast.put("o-1", now_ms(), paidDate=None, checks=paid)
        await until(lambda: status_of(app, "2") == "bussing")
        assert app.engine.state.floor.checks["101"].total == "31.50"
        toast.put(
            "o-4", now_ms(), table={"guid": "tg-12"}, voided=True, checks=[_check("c-4", "4")]
        )
        await polled(src)
        assert app.engine.state.floor.checks["4"].voided_at is not None
        assert src.blind is None
    finally:
        await app.stop()


async def test_toast_courses_follow_menu_groups_and_fulfilment(
    tmp_path: Path, broker: EmbeddedBroker, toast: FakeToast
) -> None:
    """Toast has no course field: the selection's menu group names it (menus API), and a course
    fires when its first selection is SENT (HOLD is paused, NEW not yet sent)."""
    toast.tables = {"tg-2": "T2"}
    toast.menus = [
        {
            "guid": "m-dinner",
            "name": "Dinner",
            "menuGroups": [
                {"guid": "g-app", "name": "Appetizers", "menuGroups": []},
                {
                    "guid": "g-main",
                    "name": "Mains",
                    "menuGroups": [{"guid": "g-pasta", "name": "Pasta", "menuGroups": []}],
                },
                {"guid": "g-sweet", "name": "Sweet Things", "menuGroups": []},
            ],
        }
    ]
    courses = '{ "Sweet Things" = "dessert", "Pasta" = "entrees" }'
    app = await started(tmp_path, broker, toast_entry(toast, courses=courses))
    try:
        src = source(app, "input.toast.main")

        def sels(app_st: str, main_st: str, sweet_st: str) -> list[dict[str, Any]]:
            return [
                _sel("s-a", "Burrata", app_st, "g-app"),
                _sel("s-m", "Cacio e pepe", main_st, "g-pasta"),
                _sel("s-d", "Tiramisu", sweet_st, "g-sweet"),
            ]

        t0 = now_ms() - 60_000
        order = {"table": {"guid": "tg-2"}, "numberOfGuests": 2}
        toast.put("o-1", t0, **order, checks=[_check("c-1", "11", sels("NEW", "NEW", "NEW"))])
        await until(lambda: status_of(app, "2") == "seated")
        assert app.engine.tables["2"]["course"] is None
        items = app.engine.state.floor.checks["11"].items
        assert sorted((i["name"], i.get("course")) for it in items.values() for i in it) == [
            ("Burrata", "apps"),
            ("Cacio e pepe", "entrees"),
            ("Tiramisu", "dessert"),
        ]
        toast.put("o-1", now_ms(), checks=[_check("c-1", "11", sels("SENT", "HOLD", "NEW"))])
        await until(lambda: app.engine.tables["2"]["course"] == "apps")
        toast.put("o-1", now_ms(), checks=[_check("c-1", "11", sels("READY", "SENT", "NEW"))])
        await until(lambda: app.engine.tables["2"]["course"] == "entrees")
        toast.put("o-1", now_ms(), checks=[_check("c-1", "11", sels("READY", "READY", "SENT"))])
        await until(lambda: app.engine.tables["2"]["course"] == "dessert")
        fired = app.engine.state.floor.checks["11"].courses
        assert sorted(fired) == ["apps", "dessert", "entrees"]
        assert toast.menu_reads == 1  # read once, again only for a group it does not know
        await polled(src)
        assert toast.menu_reads == 1 and src.blind is None
        # a group the menus do not have (deleted since): read once more, then not again
        gone = _sel("s-x", "Old special", "SENT", "g-gone")
        toast.put(
            "o-1", now_ms(), checks=[_check("c-1", "11", [*sels("READY", "READY", "READY"), gone])]
        )
        await polled(src)
        await polled(src)
        assert toast.menu_reads == 2 and src.blind is None
    finally:
        await app.stop()


async def test_toast_without_menu_access_fires_the_default_course(
    tmp_path: Path, broker: EmbeddedBroker, toast: FakeToast
) -> None:
    toast.tables = {"tg-2": "T2"}
    toast.menus_forbidden = True  # a client without the menus:read scope
    app = await started(tmp_path, broker, toast_entry(toast, default_course='"apps"'))
    try:
        src = source(app, "input.toast.main")
        sel = _sel("s-a", "Soup", "SENT", "g-app")
        toast.put("o-1", now_ms(), table={"guid": "tg-2"}, checks=[_check("c-1", "12", [sel])])
        await until(lambda: app.engine.tables["2"]["course"] == "apps")
        assert isinstance(src, ToastSource)
        assert src.blind is None and "403" in src.menus_failed
    finally:
        await app.stop()


class SecondSource(Component):
    """A second input source (as receipt capture would be) reporting check numbers it printed."""

    def __init__(self, name: str, options: Options, context: SourceContext) -> None:
        self.name = f"input.printed.{name}"
        self.context = context
        self.queue: asyncio.Queue[tuple[str, str, str, dict[str, Any]]] = asyncio.Queue()
        self.results: list[str] = []

    async def run(self) -> None:
        while True:
            eid, etype, check, data = await self.queue.get()
            inp = Input(
                "printed:kitchen", eid, etype, self.context.clock(), {"check": check, **data}
            )
            self.results.append((await self.context.submit(inp)).outcome.result)


@pytest.fixture
def second_source() -> Iterator[None]:
    INPUT_SOURCES.register(Plugin("printed", Options, SecondSource))
    yield
    INPUT_SOURCES.unregister("printed")


async def test_a_check_seen_by_the_poller_and_another_source_is_one_check(
    tmp_path: Path, broker: EmbeddedBroker, toast: FakeToast, second_source: None
) -> None:
    toast.tables = {"tg-2": "T2"}
    extra = toast_entry(toast) + '[[inputs]]\nkind = "printed"\nname = "kitchen"\n'
    app = await started(tmp_path, broker, extra)
    try:
        printed = next(c for c in app.supervisor.components if isinstance(c, SecondSource))
        done = _waiter(printed)
        # the receipt is printed first, then the poller sees the same check in Toast
        printed.queue.put_nowait(("r-1", "check.opened", "555", {"table": "2", "guests": 2}))
        await done(1)
        toast.put(
            "o-5",
            now_ms(),
            table={"guid": "tg-2"},
            numberOfGuests=2,
            checks=[_check("c-5", "555", [_sel("s-5", "Pasta", "NEW")])],
        )
        src = source(app, "input.toast.main")
        await until(lambda: src.accepted > 0)
        await polled(src)
        assert list(app.engine.state.floor.checks) == ["555"]
        assert app.engine.tables["2"]["checks"] == ["555"]
        # closed on the printer; the poller's later payment is the same check closing again
        printed.queue.put_nowait(("r-2", "check.closed", "555", {"total": "20.00"}))
        await done(2)
        toast.put(
            "o-5",
            now_ms(),
            checks=[_check("c-5", "555", [_sel("s-5", "Pasta", "SENT")], "PAID", 20)],
        )
        await polled(src)
        assert status_of(app, "2") == "bussing"
        assert list(app.engine.state.floor.checks) == ["555"]
        assert printed.results == ["accepted", "accepted"]
    finally:
        await app.stop()


def _waiter(src: SecondSource) -> Callable[[int], Awaitable[None]]:
    async def wait(n: int) -> None:
        await until(lambda: len(src.results) >= n)

    return wait


def _line(uid: str, name: str, qty: str, cents: int) -> dict[str, Any]:
    return {
        "uid": uid,
        "name": name,
        "quantity": qty,
        "base_price_money": {"amount": cents, "currency": "USD"},
    }


def _sel(guid: str, name: str, fulfillment: str, group: str | None = None) -> dict[str, Any]:
    sel: dict[str, Any] = {
        "guid": guid,
        "displayName": name,
        "quantity": 1,
        "price": 12.0,
        "fulfillmentStatus": fulfillment,
        "voided": False,
    }
    if group is not None:
        sel["itemGroup"] = {"guid": group, "entityType": "MenuGroup"}
    return sel


def _check(
    guid: str,
    number: str,
    selections: list[dict[str, Any]] | None = None,
    payment: str = "OPEN",
    total: float = 0,
) -> dict[str, Any]:
    return {
        "guid": guid,
        "displayNumber": number,
        "paymentStatus": payment,
        "totalAmount": total,
        "voided": False,
        "selections": selections or [],
        "payments": [{"tipAmount": 3.0}] if payment != "OPEN" and total else [],
    }


async def test_wrong_credentials_blind_the_source_with_the_reason(
    tmp_path: Path, broker: EmbeddedBroker, square: FakeSquare, toast: FakeToast
) -> None:
    extra = square_entry(square).replace(SQUARE_TOKEN, "wrong-token") + toast_entry(toast).replace(
        TOAST_SECRET, "wrong-secret"
    )
    app = await started(tmp_path, broker, extra)
    try:
        await until(lambda: source(app, "input.square.front").blind is not None)
        await until(lambda: source(app, "input.toast.main").blind is not None)
        degraded = " ".join(app.status()["degraded"])
        assert "square:front is blind: 401" in degraded and "toast:main is blind: 401" in degraded
        assert square.refused >= 1 and toast.logins == 0
        assert "wrong-token" not in degraded and "wrong-secret" not in degraded
    finally:
        await app.stop()
