"""What was built but unreachable, now over the real HTTP API of the real daemon (App, Mosquitto,
a temporary store): a test page to any pager number through the pager outbox and sender to a
simulated LRS T74 on a pty; the receipt documents per printer; reservation relink, unlink and
partial arrivals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from app_support import AUTH, TOKEN, Client, send, start_app
from receipt_support import FakePrinter, print_job, receipt_input, render, sample_check, until
from support import Terminal, write_config

from floorlink.daemon.api_models import (
    NewTerminal,
    Pager,
    PagerTest,
    ReceiptPrinter,
    Reservation,
)
from floorlink.daemon.api_models import Terminal as Terminal_
from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.config import load_config
from floorlink.daemon.core.quotes import MIN_MS
from floorlink.daemon.core.timeutil import format_ms
from floorlink.daemon.engine import now_ms
from floorlink.daemon.http import HttpSettings, make_app
from floorlink.drivers.pagers import Page
from floorlink.drivers.pty_transmitter import PtyTransmitter


async def serve(app: App) -> Client:
    client = TestClient(
        TestServer(make_app(app, HttpSettings(staff_token=TOKEN)), host="127.0.0.1")
    )
    await client.start_server()
    return client


async def poll(client: Client, path: str, done: Any) -> Any:
    """GET `path` until `done(body)` (the deadline only stops a hung test)."""
    for _ in range(400):
        body = await (await client.get(path, headers=AUTH)).json()
        if done(body):
            return body
        await asyncio.sleep(0.025)
    raise AssertionError(f"never happened on {path}: {body}")


# ---- the test page (issue 12) ------------------------------------------------------------------


@pytest.fixture
async def paged(
    tmp_path: Path, broker: EmbeddedBroker
) -> AsyncIterator[tuple[App, PtyTransmitter]]:
    tx = PtyTransmitter(tmp_path / "pager", "lrs-t74", system_id=1)
    tx.plug()
    extra = (
        f'[pager]\nport = "{tmp_path / "pager"}"\nprotocol = "lrs-t74"\n'
        "system_id = 1\nalert_type = 67\nack_timeout = 0.5\ndone_timeout = 2.0\n"
    )
    app = await start_app(tmp_path / "app", broker, extra=extra)
    try:
        yield app, tx
    finally:
        await app.stop()
        tx.close()


async def test_a_test_page_goes_through_the_outbox_to_the_transmitter(
    paged: tuple[App, PtyTransmitter],
) -> None:
    app, tx = paged
    client = await serve(app)
    try:
        assert (await client.post("/api/v1/pager/test", json={"pager": 42})).status == 401
        resp = await client.post("/api/v1/pager/test", json={"pager": 42}, headers=AUTH)
        assert resp.status == 202, await resp.text()
        test = PagerTest.model_validate(await resp.json())
        assert test.pager == 42 and test.test.startswith("t-")
        assert await tx.wait_pages(1) == [Page(42, 0x43)]
        body = await poll(
            client,
            "/api/v1/pager",
            lambda b: b["tests"] and b["tests"][0]["delivery"] == "transmitted",
        )
        pager = Pager.model_validate(body)
        assert pager.state == "ok" and pager.protocol == "lrs-t74" and pager.sent == 1
        assert pager.tests[0].test == test.test and pager.tests[0].pager == 42
        # it is in the log (replayable) and it touched no party
        logged = await app.engine.call(lambda: [e.data for e in app.engine.store.events()])
        assert {"test": test.test, "pager": 42} in logged
        rows = await app.engine.call(
            lambda: app.engine.store.db.execute(
                "SELECT consumer, key FROM outbox WHERE key LIKE 'test:%'"
            ).fetchall()
        )
        assert [tuple(r) for r in rows] == [("pager", f"test:{test.test}")]
        assert app.waitlist() == []
        # a number no pager can have is refused with a sentence
        for bad in (0, 4096, "42", None):
            resp = await client.post("/api/v1/pager/test", json={"pager": bad}, headers=AUTH)
            assert resp.status == 422 and "pager" in (await resp.json())["error"]
    finally:
        await client.close()


async def test_a_test_page_without_a_transmitter_says_so(floor: App, client: Client) -> None:
    resp = await client.post("/api/v1/pager/test", json={"pager": 7}, headers=AUTH)
    assert resp.status == 409 and "pager" in (await resp.json())["error"].lower()
    pager = Pager.model_validate(await (await client.get("/api/v1/pager", headers=AUTH)).json())
    assert pager.state == "disabled" and pager.tests == []


# ---- receipt documents (issue 13) -------------------------------------------------------------


async def test_the_last_documents_per_printer_and_what_they_became(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    printer = FakePrinter()
    await printer.start()
    app = await start_app(tmp_path / "app", broker, tables=12, extra=receipt_input(printer.port))
    client = await serve(app)
    try:
        source = app.sources[0]
        port = getattr(source, "port", None)
        assert isinstance(port, int)
        await print_job(port, render("bistro", "check", sample_check()))
        await until(lambda: app.engine.tables["12"]["status"] == "check_dropped")
        body = await poll(
            client,
            "/api/v1/receipts",
            lambda b: b and b[0]["documents"] and b[0]["documents"][0]["kind"] == "check",
        )
        printers = [ReceiptPrinter.model_validate(p) for p in body]
        assert [p.printer for p in printers] == ["input.receipt-tcp.kitchen"]
        doc = printers[0].documents[0]
        assert doc.result == "events" and doc.fields["table"] == "12"
        assert "table" in doc.matched and doc.lines
        assert body == [
            {
                "printer": "input.receipt-tcp.kitchen",
                "documents": app.recent_documents()[source.name],
            }
        ]
        assert (await client.get("/api/v1/receipts")).status == 401
    finally:
        await client.close()
        await app.stop()
        await printer.stop()


async def test_no_receipt_inputs_is_an_empty_list(client: Client) -> None:
    assert await (await client.get("/api/v1/receipts", headers=AUTH)).json() == []


# ---- reservations: relink, unlink, partial arrivals (issue 14) ----------------------------------


async def book(app: App, rid: str, table: str, minutes: int, size: int = 4) -> None:
    at = now_ms()
    r = {
        "id": rid, "status": "confirmed", "time": format_ms(at + minutes * MIN_MS, app.tz),
        "party_size": size, "table": table, "source": "phone",
        "guest": {"name": "Smith"}, "updated_at": format_ms(at, app.tz),
    }  # fmt: skip
    res = await send(app, "cloud.pulled", at, {"reservations": [r], "cursor": "c1"}, "cloud")
    assert res.outcome.result == "accepted", res.outcome.error


async def listed(client: Client, rid: str) -> Reservation:
    body = await (await client.get("/api/v1/reservations", headers=AUTH)).json()
    return Reservation.model_validate(next(r for r in body if r["id"] == rid))


async def test_the_host_relinks_and_unlinks_a_reservation(floor: App, client: Client) -> None:
    await book(floor, "r-001", "2", 20)
    for check, table in (("77", "4"), ("78", "5")):
        data = {"check": check, "table": table, "guests": 4}
        opened = await send(floor, "check.opened", now_ms(), data, "pos:t1")
        assert opened.outcome.result == "accepted"
    path = "/api/v1/reservations/r-001/link"
    resp = await client.post(path, json={"check": "78"}, headers=AUTH)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["check"] == "78" and body["linked_by"] == "host" and body["link_confidence"] == 1
    shown = await listed(client, "r-001")
    assert (shown.check, shown.linked_by, shown.link_confidence) == ("78", "host", 1.0)
    # unlink, then unlinking again: not linked (404); an unknown check: 404
    assert (await (await client.post(path, json={"check": None}, headers=AUTH)).json())[
        "check"
    ] is None
    assert (await listed(client, "r-001")).check is None
    assert (await client.post(path, json={"check": None}, headers=AUTH)).status == 404
    assert (await client.post(path, json={"check": "nope"}, headers=AUTH)).status == 404
    unknown = "/api/v1/reservations/r-404/link"
    assert (await client.post(unknown, json={"check": "77"}, headers=AUTH)).status == 404
    assert (await client.post(path, json={}, headers=AUTH)).status == 422
    assert (await client.post(path, json={"check": "77"})).status == 401


async def test_two_of_four_here_holds_a_table_without_starting_the_turn(
    floor: App, client: Client
) -> None:
    await book(floor, "r-002", "2", 10)
    path = "/api/v1/reservations/r-002/partial"
    resp = await client.post(path, json={"table": "1", "arrived": 2}, headers=AUTH)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert (body["arrived"], body["party_size"], body["table"]) == (2, 4, "1")
    tables = {
        t["table"]: t for t in await (await client.get("/api/v1/tables", headers=AUTH)).json()
    }
    assert tables["1"]["status"] == "reserved" and tables["1"]["party"] is None
    shown = await listed(client, "r-002")
    assert shown.arrived == 2 and shown.held
    for bad in ({"table": "1", "arrived": 0}, {"table": "1"}, {"arrived": 2}):
        assert (await client.post(path, json=bad, headers=AUTH)).status == 422
    missing = {"table": "99", "arrived": 2}
    assert (await client.post(path, json=missing, headers=AUTH)).status == 404


# ---- POS terminals (issue 11) -----------------------------------------------------------------


async def test_terminals_are_added_listed_with_their_last_event_and_errors_and_removed(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    passwd = tmp_path / "floorlink.passwd"
    path = write_config(tmp_path / "floorlink.toml", broker.port, free_port(), 6)
    mqtt = f'[mqtt]\npasswd_file = "{passwd}"\nreload_broker = false\n'  # no systemctl here
    path.write_text(path.read_text().replace("[mqtt]\n", mqtt))
    app = App(load_config(path))
    await app.start()
    await app.wait_ready(20)
    client = await serve(app)
    try:
        assert await (await client.get("/api/v1/terminals", headers=AUTH)).json() == []
        resp = await client.post("/api/v1/terminals", json={"name": "bar-1"}, headers=AUTH)
        assert resp.status == 201, await resp.text()
        added = NewTerminal.model_validate(await resp.json())
        assert added.terminal == "bar-1" and len(added.password) >= 20
        assert added.topics["publish"] == ["floorlink/v1/pos/bar-1/events"]
        assert not added.broker_reloaded
        assert passwd.read_text().startswith("bar-1:")  # mosquitto_passwd wrote its hash
        # the terminal sends one good event and one the core refuses
        async with Terminal(broker, "bar-1") as pos:
            good = await pos.send("check.opened", check="1", table="2", guests=2)
            assert (await pos.ack(good))["result"] == "accepted"
            bad = await pos.send("check.opened", check="2", table="nope", guests=2)
            assert (await pos.ack(bad))["result"] == "rejected"
        listed = [
            Terminal_.model_validate(t)
            for t in await (await client.get("/api/v1/terminals", headers=AUTH)).json()
        ]
        assert [t.terminal for t in listed] == ["bar-1"]
        bar = listed[0]
        assert bar.registered and bar.events == 2 and bar.errors == 1
        assert bar.last_type == "check.opened" and bar.last_error and "nope" in bar.last_error
        metrics = await (await client.get("/metrics")).text()
        assert 'floorlink_terminal_events_total{result="rejected",terminal="bar-1"} 1.0' in metrics
        # refused: a bad name, a role name; then removed, and again: 404
        bad_name = await client.post("/api/v1/terminals", json={"name": "a/b"}, headers=AUTH)
        assert bad_name.status == 422
        role = await client.post("/api/v1/terminals", json={"name": "monitor"}, headers=AUTH)
        assert role.status == 422 and "reserved" in (await role.json())["error"]
        gone = await client.delete("/api/v1/terminals/bar-1", headers=AUTH)
        assert gone.status == 200 and (await gone.json())["terminal"] == "bar-1"
        assert "bar-1" not in passwd.read_text()
        assert await (await client.get("/api/v1/terminals", headers=AUTH)).json() == []
        assert (await client.delete("/api/v1/terminals/bar-1", headers=AUTH)).status == 404
        assert (await client.delete("/api/v1/terminals/bar-1")).status == 401
    finally:
        await client.close()
        await app.stop()


async def test_terminals_without_a_password_file_point_to_the_cli(client: Client) -> None:
    resp = await client.post("/api/v1/terminals", json={"name": "bar-2"}, headers=AUTH)
    assert resp.status == 409 and "add-terminal" in (await resp.json())["error"]
