"""The HTTP API on a real socket on 127.0.0.1, over the real daemon (App, Mosquitto, a temporary
store): auth, every route, errors as JSON, the PIN session and its limit, health, metrics, the
page and the SSE stream. Where the old in-memory fake differed, these follow the daemon."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from app_support import AUTH, PIN, TOKEN, Client, MakeClient, send
from prometheus_client import REGISTRY
from support import Terminal

from floorlink.daemon import http
from floorlink.daemon.api_models import Table, WaitlistEntry
from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker
from floorlink.daemon.engine import now_ms
from floorlink.daemon.service import CommandResult, HostCommand


async def error_of(resp: ClientResponse, status: int) -> str:
    """The response is `status` with a JSON body {"error": "<sentence>"}; returns the sentence."""
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"], str) and len(body["error"]) > 5
    return str(body["error"])


def auth_failures() -> float:
    return REGISTRY.get_sample_value("floorlink_http_auth_failures_total") or 0.0


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


async def until(predicate: Any, timeout: float = 10) -> None:
    """Wait for a condition the daemon reaches by itself (a broker reconnect, a closed stream)."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - a state of the daemon, not an event we own
            await asyncio.sleep(0.01)


# ---- auth --------------------------------------------------------------------------------------

READS = ["/api/v1/tables", "/api/v1/waitlist", "/api/v1/reservations", "/api/v1/status"]


@pytest.mark.parametrize("path", READS)
async def test_reads_need_the_token_unless_open_reads(
    path: str, client: Client, make_client: MakeClient
) -> None:
    resp = await client.get(path)
    await error_of(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await client.get(path, headers=AUTH)).status == 200
    assert (await client.get(path, headers={"Authorization": f"bearer {TOKEN}"})).status == 200
    # the query token is for EventSource only
    await error_of(await client.get(path, params={"token": TOKEN}), 401)
    open_client = await make_client(open_reads=True)
    assert (await open_client.get(path)).status == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer wrong-token",
        f"Basic {TOKEN}",
        f"Bearer {TOKEN}x",
        "Bearer",
        "",
        "Bearer tökén-ünicode",
        f"Bearer {TOKEN[:-1]}",
    ],
)
async def test_a_wrong_token_is_401_never_500(header: str, make_client: MakeClient) -> None:
    client = await make_client(open_reads=True)
    before = auth_failures()
    resp = await client.post(
        "/api/v1/tables/1/clear", headers={"Authorization": header.encode().decode("latin-1")}
    )
    await error_of(resp, 401)
    assert auth_failures() == before + 1


async def test_an_empty_staff_token_opens_nothing(make_client: MakeClient) -> None:
    client = await make_client(staff_token="")
    await error_of(await client.get("/api/v1/tables", headers={"Authorization": "Bearer "}), 401)


async def test_health_metrics_page_and_document_need_no_token(client: Client) -> None:
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/metrics")).status == 200
    assert (await client.get("/api/v1/openapi.json")).status == 200
    page = await client.get("/")
    assert page.status == 200 and page.content_type == "text/html"
    assert 'src="/static/app.js"' in await page.text()
    for name, kind in [("app.js", "javascript"), ("style.css", "text/css")]:
        resp = await client.get(f"/static/{name}")
        assert resp.status == 200 and kind in resp.content_type


# ---- tables --------------------------------------------------------------------------------


async def test_tables_are_contract_objects(client: Client, floor: App) -> None:
    tables = await (await client.get("/api/v1/tables", headers=AUTH)).json()
    assert [t["table"] for t in tables] == ["1", "2", "3", "4", "5", "6"]
    for key in ("status", "course", "since", "party", "check", "server", "seq", "seats"):
        assert key in tables[0]
    for table in tables:  # the one model, and the very object MQTT publishes, plus the layout
        Table.model_validate(table)
        assert {k: v for k, v in table.items() if k in floor.engine.tables[table["table"]]} == (
            floor.engine.tables[table["table"]]
        )


async def test_seat_clear_block_unblock(client: Client, floor: App) -> None:
    resp = await client.post(
        "/api/v1/tables/2/seat", json={"party_size": 3, "name": "Ruiz"}, headers=AUTH
    )
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "seated" and body["party"]["name"] == "Ruiz"
    # the daemon's own labels: a party seated by the host at the door is a walk-in
    assert body["party"]["size"] == 3 and body["party"]["source"] == "walk_in"
    assert floor.engine.tables["2"]["party"] == body["party"]
    msg = await error_of(
        await client.post("/api/v1/tables/2/seat", json={"party_size": 2}, headers=AUTH), 409
    )
    assert "seated" in msg
    assert (await client.post("/api/v1/tables/2/clear", headers=AUTH)).status == 200
    block = await client.post("/api/v1/tables/2/block", json={"reason": "wobbly"}, headers=AUTH)
    assert (await block.json())["status"] == "blocked"
    # a body is optional on block; re-blocking a blocked table is accepted (the daemon's rule)
    again = await client.post("/api/v1/tables/2/block", headers=AUTH)
    assert again.status == 200 and (await again.json())["status"] == "blocked"
    assert (await client.post("/api/v1/tables/3/block", headers=AUTH)).status == 200
    unblock = await client.post("/api/v1/tables/2/unblock", headers=AUTH)
    assert (await unblock.json())["status"] == "available"
    await error_of(await client.post("/api/v1/tables/99/clear", headers=AUTH), 404)


@pytest.mark.parametrize(
    ("raw", "status", "names"),
    [
        (b"", 400, "JSON body"),
        (b"{not json", 400, "not valid JSON"),
        (b"\xff\xfe", 400, "not valid JSON"),
        (b'{"party_size": "four"}', 422, "party_size"),
        (b'{"party_size": 0}', 422, "party_size"),
        (b'{"party_size": 2.5}', 422, "party_size"),
        (b'{"party_size": true}', 422, "party_size"),
        (b'{"party_size": 2, "table": "9"}', 422, "table"),
        (b'{"party_size": 2, "name": 7}', 422, "name"),
        (b"[2]", 422, "body"),
        (b"null", 422, "body"),
    ],
)
async def test_bad_bodies_get_a_readable_4xx(
    raw: bytes, status: int, names: str, client: Client
) -> None:
    resp = await client.post(
        "/api/v1/tables/1/seat",
        data=raw,
        headers=AUTH | {"Content-Type": "application/json"},
    )
    assert names in await error_of(resp, status)


async def test_a_whole_number_written_as_float_is_accepted(client: Client) -> None:
    resp = await client.post("/api/v1/tables/1/seat", json={"party_size": 2.0}, headers=AUTH)
    assert resp.status == 200 and (await resp.json())["party"]["size"] == 2


async def test_a_body_over_64_kib_is_413(client: Client) -> None:
    big = json.dumps({"party_size": 2, "name": "x" * (70 * 1024)})
    await error_of(await client.post("/api/v1/tables/1/seat", data=big, headers=AUTH), 413)


# ---- waitlist ------------------------------------------------------------------------------


async def test_waitlist_add_page_seat_left(client: Client, floor: App) -> None:
    resp = await client.post(
        "/api/v1/waitlist",
        json={"name": "Kim", "party_size": 2, "pager": 7, "phone": "555-0100"},
        headers=AUTH,
    )
    assert resp.status == 201
    kim = await resp.json()
    WaitlistEntry.model_validate(kim)
    assert isinstance(kim["quoted_minutes"], int) and kim["status"] == "waiting"
    assert (kim["name"], kim["party_size"], kim["pager"], kim["phone"], kim["notes"]) == (
        "Kim", 2, 7, "555-0100", None
    )  # fmt: skip
    assert floor.waitlist() == [kim]
    paged = await client.post(f"/api/v1/waitlist/{kim['id']}/page", headers=AUTH)
    assert (await paged.json())["status"] == "paged"
    seat = await client.post(
        f"/api/v1/waitlist/{kim['id']}/seat", json={"table": "4"}, headers=AUTH
    )
    assert (await seat.json())["table"] == "4"
    assert floor.engine.tables["4"]["status"] == "seated"
    assert floor.engine.tables["4"]["party"]["source"] == "waitlist"
    await error_of(await client.post(f"/api/v1/waitlist/{kim['id']}/left", headers=AUTH), 409)
    lee = await (
        await client.post("/api/v1/waitlist", json={"name": "Lee", "party_size": 5}, headers=AUTH)
    ).json()
    # table 4 is taken now: the service's 409 comes through with its sentence
    await error_of(
        await client.post(f"/api/v1/waitlist/{lee['id']}/seat", json={"table": "4"}, headers=AUTH),
        409,
    )
    left = await client.post(f"/api/v1/waitlist/{lee['id']}/left", headers=AUTH)
    assert (await left.json())["status"] == "left"
    listed = await (await client.get("/api/v1/waitlist", headers=AUTH)).json()
    assert [(e["name"], e["status"]) for e in listed] == [("Kim", "seated"), ("Lee", "left")]
    await error_of(await client.post("/api/v1/waitlist/w-404/page", headers=AUTH), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"party_size": 2},
        {"name": "", "party_size": 2},
        {"name": "Kim", "party_size": 2, "pager": 0},
        {"name": "Kim", "party_size": 2, "pager": "7"},
        {"name": "Kim", "party_size": 2, "vip": True},
    ],
)
async def test_waitlist_bodies_are_validated(body: dict[str, Any], client: Client) -> None:
    await error_of(await client.post("/api/v1/waitlist", json=body, headers=AUTH), 422)


async def test_seating_from_the_waitlist_checks_the_table_id(client: Client) -> None:
    resp = await client.post("/api/v1/waitlist/w-1/seat", json={"table": "../1"}, headers=AUTH)
    assert "table" in await error_of(resp, 422)


# ---- errors --------------------------------------------------------------------------------


async def test_unknown_route_and_wrong_method_are_json(client: Client) -> None:
    await error_of(await client.get("/api/v1/nothing", headers=AUTH), 404)
    await error_of(await client.get("/static/../daemon/http.py"), 404)
    resp = await client.delete("/api/v1/tables", headers=AUTH)
    await error_of(resp, 405)
    assert resp.headers["Allow"]
    await error_of(await client.get("/api/v1/tables/1/seat", headers=AUTH), 405)


async def test_a_failing_service_is_a_logged_500_and_the_server_goes_on(
    client: Client, floor: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = floor.command

    async def fails_once(cmd: HostCommand) -> CommandResult:
        monkeypatch.setattr(floor, "command", real)
        raise RuntimeError("disk on fire")  # a fault injected into the real daemon

    monkeypatch.setattr(floor, "command", fails_once)
    resp = await client.post("/api/v1/tables/1/clear", headers=AUTH)
    assert "internal error" in await error_of(resp, 500)
    assert (await client.get("/api/v1/tables", headers=AUTH)).status == 200


# ---- health and metrics ------------------------------------------------------------------------


async def test_healthz_follows_ready(client: Client, floor: App, broker: EmbeddedBroker) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200 and await resp.json() == {"status": "ok"}
    broker.stop()  # the real broker goes away
    await until(lambda: not floor.link.connected)
    resp = await client.get("/healthz")
    assert resp.status == 503
    body = await resp.json()
    degraded = body.pop("degraded", [])  # the real daemon also names the part that is down
    assert all("mqtt" in part or "broker" in part for part in degraded)
    assert body == {
        "status": "unavailable",
        "reasons": ["the MQTT broker is not connected"],
    }
    broker.start()
    await until(lambda: floor.link.connected, 30)
    resp = await client.get("/healthz")
    assert resp.status == 200 and await resp.json() == {"status": "ok"}


async def test_metrics_default_and_own_handler(make_client: MakeClient) -> None:
    plain = await make_client()
    text = await (await plain.get("/metrics")).text()
    assert "floorlink_http_auth_failures_total" in text

    async def own(request: web.Request) -> web.Response:
        return web.Response(text="floorlink_own 1\n", content_type="text/plain")

    custom = await make_client(metrics_handler=own)
    assert await (await custom.get("/metrics")).text() == "floorlink_own 1\n"


# ---- PIN session -------------------------------------------------------------------------------


async def test_pin_buys_the_token_and_wrong_pins_are_limited(make_client: MakeClient) -> None:
    client = await make_client(pin_attempts_per_minute=3)
    ok = await client.post("/api/v1/session", json={"pin": PIN})
    assert ok.status == 200 and await ok.json() == {"token": TOKEN}
    before = auth_failures()
    for _ in range(3):
        await error_of(await client.post("/api/v1/session", json={"pin": "000000"}), 401)
    assert auth_failures() == before + 3
    resp = await client.post("/api/v1/session", json={"pin": PIN})
    assert "Too many" in await error_of(resp, 429)
    assert resp.headers["Retry-After"] == "60"
    # a non-ASCII PIN is just wrong, not a crash (the limiter answers first here)
    await error_of(await client.post("/api/v1/session", json={"pin": "ü"}), 429)


async def test_non_ascii_pin_is_401(client: Client) -> None:
    await error_of(await client.post("/api/v1/session", json={"pin": "2ü68"}), 401)


async def test_no_pin_configured_is_404(make_client: MakeClient) -> None:
    client = await make_client(staff_pin=None)
    await error_of(await client.post("/api/v1/session", json={"pin": PIN}), 404)
    await error_of(await client.post("/api/v1/session", json={"pin": 246813}), 422)


# ---- SSE -----------------------------------------------------------------------------------


async def next_event(resp: ClientResponse) -> tuple[str, Any]:
    """The next SSE event (kind, data), skipping comments and the retry field."""
    kind, data = "message", ""
    while True:
        line = (await asyncio.wait_for(resp.content.readline(), 10)).decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and data:
            return kind, json.loads(data)


async def next_of(resp: ClientResponse, kind: str) -> Any:
    """The next SSE event of `kind`; the real daemon may interleave others (status changes)."""
    while True:
        got, data = await next_event(resp)
        if got == kind:
            return data


def viewers(floor: App) -> int:
    return floor.stream.viewers


async def test_stream_snapshot_then_changes(
    client: Client, floor: App, broker: EmbeddedBroker
) -> None:
    await error_of(await client.get("/api/v1/stream"), 401)
    resp = await client.get("/api/v1/stream", params={"token": TOKEN})
    assert resp.status == 200 and resp.content_type == "text/event-stream"
    kind, snap = await next_event(resp)
    assert kind == "snapshot"
    assert set(snap) == {"tables", "waitlist", "reservations", "status"}
    assert len(snap["tables"]) == 6
    async with Terminal(broker) as pos:  # a change from a real POS terminal
        await pos.send("check.opened", check="77", table="5", guests=2)
        table = await next_of(resp, "table")
    assert table["table"] == "5" and table["status"] == "seated"
    assert table == floor.tables()[4]
    await client.post("/api/v1/waitlist", json={"name": "Ode", "party_size": 2}, headers=AUTH)
    entries = await next_of(resp, "waitlist")
    assert entries[0]["name"] == "Ode"
    soon = now_ms() + 20 * 60_000
    reservation = {
        "id": "r-1", "status": "confirmed", "time": _rfc3339(soon), "party_size": 4,
        "table": "2", "source": "phone", "guest": {"name": "Ito"},
    }  # fmt: skip
    await send(floor, "cloud.pulled", now_ms(), {"reservations": [reservation], "cursor": "c1"})
    res = await next_of(resp, "reservations")
    assert res[0]["id"] == "r-1"
    while not res[0]["held"]:  # the daemon's timer holds table 2 for it: the list again
        res = await next_of(resp, "reservations")
    assert floor.engine.tables["2"]["status"] == "reserved"
    broker.stop()  # the broker goes: a status event says so
    status = await next_of(resp, "status")
    while status["broker"]:
        status = await next_of(resp, "status")
    assert status["ready"] is False and "the MQTT broker is not connected" in status["reasons"]
    resp.close()
    await until(lambda: viewers(floor) == 0)  # the subscription goes when the tablet does


async def test_stream_keeps_flowing_across_pings(
    client: Client, floor: App, broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ping must not end the service's feed (it once cancelled the pending `anext`)."""
    monkeypatch.setattr(http, "PING_S", 0.01)
    resp = await client.get("/api/v1/stream", headers=AUTH)
    assert (await next_event(resp))[0] == "snapshot"
    pings = 0
    while pings < 3:
        line = await asyncio.wait_for(resp.content.readline(), 10)
        pings += line == b": ping\n"
    async with Terminal(broker) as pos:
        await pos.send("check.opened", check="1", table="1", guests=2)
        table = await next_of(resp, "table")
    assert (table["table"], table["status"]) == ("1", "seated")
    assert viewers(floor) == 1


async def test_stream_is_open_with_open_reads_and_ends_on_shutdown(
    make_client: MakeClient, floor: App
) -> None:
    client = await make_client(open_reads=True)
    resp = await client.get("/api/v1/stream")
    assert (await next_event(resp))[0] == "snapshot"
    await client.server.close()  # the daemon stopping: open streams must not hold it up
    assert await asyncio.wait_for(resp.content.read(), 10) == b"" or resp.content.at_eof()
    await until(lambda: viewers(floor) == 0)
