"""The HTTP API on a real socket on 127.0.0.1, over the in-memory floor: auth, every route,
errors as JSON, the PIN session and its rate limit, health, metrics, the page and the SSE stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from fake_service import FakeFloor
from prometheus_client import REGISTRY

from floorlink.daemon import http
from floorlink.daemon.http import HttpSettings, make_app
from floorlink.daemon.service import AddToWaitlist, SeatParty

TOKEN = "staff-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
def floor() -> FakeFloor:
    return FakeFloor()


@pytest.fixture
async def make_client(floor: FakeFloor) -> AsyncIterator[MakeClient]:
    clients: list[Client] = []

    async def make(**settings: Any) -> Client:
        options: dict[str, Any] = {"staff_token": TOKEN, "staff_pin": "2468"} | settings
        client = TestClient(TestServer(make_app(floor, HttpSettings(**options)), host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def client(make_client: MakeClient) -> Client:
    return await make_client()


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


async def test_tables_are_contract_objects(client: Client) -> None:
    tables = await (await client.get("/api/v1/tables", headers=AUTH)).json()
    assert [t["table"] for t in tables] == ["1", "2", "3", "4", "5", "6"]
    for key in ("status", "course", "since", "party", "check", "server", "seq", "seats"):
        assert key in tables[0]


async def test_seat_clear_block_unblock(client: Client, floor: FakeFloor) -> None:
    resp = await client.post(
        "/api/v1/tables/2/seat", json={"party_size": 3, "name": "Ruiz"}, headers=AUTH
    )
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "seated" and body["party"]["name"] == "Ruiz"
    assert floor.commands[-1] == SeatParty("2", 3, None, None, "Ruiz")
    msg = await error_of(
        await client.post("/api/v1/tables/2/seat", json={"party_size": 2}, headers=AUTH), 409
    )
    assert "seated" in msg
    assert (await client.post("/api/v1/tables/2/clear", headers=AUTH)).status == 200
    block = await client.post("/api/v1/tables/2/block", json={"reason": "wobbly"}, headers=AUTH)
    assert (await block.json())["status"] == "blocked"
    # a body is optional on block
    await error_of(await client.post("/api/v1/tables/2/block", headers=AUTH), 409)
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


async def test_waitlist_add_page_seat_left(client: Client, floor: FakeFloor) -> None:
    resp = await client.post(
        "/api/v1/waitlist",
        json={"name": "Kim", "party_size": 2, "pager": 7, "phone": "555-0100"},
        headers=AUTH,
    )
    assert resp.status == 201
    kim = await resp.json()
    assert kim["quoted_minutes"] == 10 and kim["status"] == "waiting"
    assert floor.commands[-1] == AddToWaitlist("Kim", 2, 7, "555-0100", None)
    paged = await client.post(f"/api/v1/waitlist/{kim['id']}/page", headers=AUTH)
    assert (await paged.json())["status"] == "paged"
    seat = await client.post(
        f"/api/v1/waitlist/{kim['id']}/seat", json={"table": "4"}, headers=AUTH
    )
    assert (await seat.json())["table"] == "4"
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
    client: Client, floor: FakeFloor
) -> None:
    floor.fail_next = RuntimeError("disk on fire")
    resp = await client.post("/api/v1/tables/1/clear", headers=AUTH)
    assert "internal error" in await error_of(resp, 500)
    assert (await client.get("/api/v1/tables", headers=AUTH)).status == 200


# ---- health and metrics ------------------------------------------------------------------------


async def test_healthz_follows_ready(client: Client, floor: FakeFloor) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200 and await resp.json() == {"status": "ok"}
    floor.set_status(ready=False, broker=False, reasons=["the MQTT broker is not connected"])
    resp = await client.get("/healthz")
    assert resp.status == 503
    assert await resp.json() == {
        "status": "unavailable",
        "reasons": ["the MQTT broker is not connected"],
    }


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
    ok = await client.post("/api/v1/session", json={"pin": "2468"})
    assert ok.status == 200 and await ok.json() == {"token": TOKEN}
    before = auth_failures()
    for _ in range(3):
        await error_of(await client.post("/api/v1/session", json={"pin": "0000"}), 401)
    assert auth_failures() == before + 3
    resp = await client.post("/api/v1/session", json={"pin": "2468"})
    assert "Too many" in await error_of(resp, 429)
    assert resp.headers["Retry-After"] == "60"
    # a non-ASCII PIN is just wrong, not a crash (the limiter answers first here)
    await error_of(await client.post("/api/v1/session", json={"pin": "ü"}), 429)


async def test_non_ascii_pin_is_401(client: Client) -> None:
    await error_of(await client.post("/api/v1/session", json={"pin": "2ü68"}), 401)


async def test_no_pin_configured_is_404(make_client: MakeClient) -> None:
    client = await make_client(staff_pin=None)
    await error_of(await client.post("/api/v1/session", json={"pin": "2468"}), 404)
    await error_of(await client.post("/api/v1/session", json={"pin": 2468}), 422)


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


async def test_stream_snapshot_then_changes(client: Client, floor: FakeFloor) -> None:
    await error_of(await client.get("/api/v1/stream"), 401)
    resp = await client.get("/api/v1/stream", params={"token": TOKEN})
    assert resp.status == 200 and resp.content_type == "text/event-stream"
    kind, snap = await next_event(resp)
    assert kind == "snapshot"
    assert set(snap) == {"tables", "waitlist", "reservations", "status"}
    assert len(snap["tables"]) == 6
    floor.set_table("5", status="seated", party={"size": 2})
    kind, table = await next_event(resp)
    assert kind == "table" and table["table"] == "5" and table["status"] == "seated"
    await client.post("/api/v1/waitlist", json={"name": "Ode", "party_size": 2}, headers=AUTH)
    kind, entries = await next_event(resp)
    assert kind == "waitlist" and entries[0]["name"] == "Ode"
    floor.set_status(cloud="down")
    assert await next_event(resp) == ("status", floor.status())
    floor.add_reservation({"id": "r-1", "time": "2026-11-22T19:30:00-08:00", "held": True})
    kind, res = await next_event(resp)
    assert kind == "reservations" and res[0]["id"] == "r-1"
    resp.close()
    for _ in range(500):  # the subscription goes when the tablet does
        if floor.subscribers == 0:
            break
        await asyncio.sleep(0.01)
    assert floor.subscribers == 0


async def test_stream_keeps_flowing_across_pings(
    client: Client, floor: FakeFloor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ping must not end the service's feed (it once cancelled the pending `anext`)."""
    monkeypatch.setattr(http, "PING_S", 0.01)
    resp = await client.get("/api/v1/stream", headers=AUTH)
    assert (await next_event(resp))[0] == "snapshot"
    pings = 0
    while pings < 3:
        line = await asyncio.wait_for(resp.content.readline(), 10)
        pings += line == b": ping\n"
    floor.set_table("1", status="blocked")
    kind, table = await next_event(resp)
    assert (kind, table["status"]) == ("table", "blocked")
    assert floor.subscribers == 1


async def test_stream_is_open_with_open_reads_and_ends_on_shutdown(
    make_client: MakeClient, floor: FakeFloor
) -> None:
    client = await make_client(open_reads=True)
    resp = await client.get("/api/v1/stream")
    assert (await next_event(resp))[0] == "snapshot"
    await client.server.close()  # the daemon stopping: open streams must not hold it up
    assert await asyncio.wait_for(resp.content.read(), 10) == b"" or resp.content.at_eof()
    for _ in range(500):
        if floor.subscribers == 0:
            break
        await asyncio.sleep(0.01)
    assert floor.subscribers == 0
