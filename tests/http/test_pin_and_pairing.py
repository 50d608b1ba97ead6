"""The staff PIN (issue 16, item 11): a wrong-PIN limit per client that grows with each failure
and never locks the right PIN out for everyone, its counts and alerts in /metrics, and
per-device pairing, so a tablet types the PIN once and keeps its own revocable credential."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from aiohttp import ClientSession, TCPConnector
from app_support import AUTH, PIN, TOKEN, Client, MakeClient
from prometheus_client import REGISTRY

from floorlink.daemon.pairing import MAX_DEVICES, Pairings
from floorlink.daemon.pinlimit import MAX_LOCK_S, PinLimiter


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


# ---- the limiter, with its clock given ---------------------------------------------------------


def test_the_lock_is_per_client_and_doubles_up_to_an_hour() -> None:
    limiter = PinLimiter(free=3)
    now = 1000.0
    for _ in range(2):
        assert limiter.failed("10.0.0.9", now) == 0
        assert limiter.wait("10.0.0.9", now) == 0
    assert limiter.failed("10.0.0.9", now) == 60  # the third wrong PIN starts a lock
    assert limiter.wait("10.0.0.9", now) == 60
    assert limiter.wait("10.0.0.5", now) == 0  # the host's tablet is not affected
    locks = []
    for _ in range(8):
        now += limiter.wait("10.0.0.9", now)  # the attacker waits out each lock, then guesses
        locks.append(limiter.failed("10.0.0.9", now))
    assert locks == [120, 240, 480, 960, 1920, MAX_LOCK_S, MAX_LOCK_S, MAX_LOCK_S]
    assert limiter.locked(now) == 1
    limiter.succeeded("10.0.0.9")  # the right PIN (after the lock) clears the record
    assert limiter.wait("10.0.0.9", now) == 0 and limiter.locked(now) == 0


def test_a_6_digit_pin_does_not_fall_to_one_address() -> None:
    """Guesses one address can make in a year, waiting out every lock: far fewer than 10^6."""
    limiter = PinLimiter(free=5)
    now, guesses = 0.0, 0
    while now < 365 * 24 * 3600:
        now += limiter.wait("attacker", now)
        limiter.failed("attacker", now)
        guesses += 1
    assert guesses < 10_000  # under 1 % of the PIN space


def test_the_limiter_memory_is_bounded() -> None:
    limiter = PinLimiter(free=1)
    for n in range(12_000):
        limiter.failed(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", 0.0)
    assert len(limiter._clients) <= 10_000


# ---- over HTTP, on the real daemon -------------------------------------------------------------


async def test_a_locked_out_client_does_not_lock_out_the_host(make_client: MakeClient) -> None:
    client = await make_client(pin_attempts_per_minute=2)
    failures, lockouts = (
        sample("floorlink_http_pin_failures_total"),
        sample("floorlink_http_pin_lockouts_total"),
    )
    for _ in range(2):
        resp = await client.post("/api/v1/session", json={"pin": "000000"})
        assert resp.status == 401
    resp = await client.post("/api/v1/session", json={"pin": PIN})
    assert resp.status == 429 and resp.headers["Retry-After"] == "60"
    assert sample("floorlink_http_pin_failures_total") == failures + 2
    assert sample("floorlink_http_pin_lockouts_total") == lockouts + 1
    assert sample("floorlink_http_pin_clients_locked") >= 1
    metrics = await (await client.get("/metrics")).text()
    assert "floorlink_http_pin_lockouts_total" in metrics
    # another device on the LAN (another address) still gets in with the right PIN
    url = str(client.make_url("/api/v1/session"))
    async with ClientSession(connector=TCPConnector(local_addr=("127.0.0.2", 0))) as other:
        async with other.post(url, json={"pin": PIN}) as ok:
            assert ok.status == 200 and await ok.json() == {"token": TOKEN}
        async with other.post(url.replace("session", "devices"), json={"pin": PIN}) as paired:
            assert paired.status == 201
    assert (await client.post("/api/v1/session", json={"pin": PIN})).status == 429


async def test_pairing_gives_a_device_its_own_revocable_credential(client: Client) -> None:
    before = sample("floorlink_http_paired_devices")
    resp = await client.post("/api/v1/devices", json={"pin": PIN, "name": "Host stand 1"})
    assert resp.status == 201
    paired = await resp.json()
    assert set(paired) == {"id", "name", "paired_at", "last_seen", "token"}
    assert paired["token"] != TOKEN and paired["token"].startswith("fld_")
    assert sample("floorlink_http_paired_devices") == before + 1
    device = {"Authorization": f"Bearer {paired['token']}"}
    # the device reads, writes and streams with its own credential
    assert (await client.get("/api/v1/tables", headers=device)).status == 200
    block = await client.post("/api/v1/tables/1/block", headers=device)
    assert block.status == 200
    stream = await client.get("/api/v1/stream", params={"token": paired["token"]})
    assert stream.status == 200
    stream.close()
    # only the staff token lists and revokes devices; the listing holds no credential
    assert (await client.get("/api/v1/devices", headers=device)).status == 401
    listed = await (await client.get("/api/v1/devices", headers=AUTH)).json()
    assert [(d["id"], d["name"]) for d in listed] == [(paired["id"], "Host stand 1")]
    assert "token" not in listed[0] and listed[0]["last_seen"] is not None
    assert (await client.delete(f"/api/v1/devices/{paired['id']}", headers=device)).status == 401
    gone = await client.delete(f"/api/v1/devices/{paired['id']}", headers=AUTH)
    assert gone.status == 200 and (await gone.json())["id"] == paired["id"]
    assert (await client.get("/api/v1/tables", headers=device)).status == 401
    assert (await client.delete(f"/api/v1/devices/{paired['id']}", headers=AUTH)).status == 404
    assert (await client.get("/api/v1/devices", headers=AUTH)).status == 200


async def test_pairing_needs_the_right_pin_and_counts_it(make_client: MakeClient) -> None:
    client = await make_client(pin_attempts_per_minute=1)
    resp = await client.post("/api/v1/devices", json={"pin": "999999"})
    assert resp.status == 401
    resp = await client.post("/api/v1/devices", json={"pin": PIN})
    assert resp.status == 429  # the same limit as the session: one wrong PIN here
    nopin = await make_client(staff_pin=None)
    assert (await nopin.post("/api/v1/devices", json={"pin": PIN})).status == 404


def test_pairings_survive_a_restart_and_keep_only_hashes(tmp_path: Path) -> None:
    path = tmp_path / "devices.json"
    pairings = Pairings(path)
    device, credential = pairings.pair("Bar tablet")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert credential not in path.read_text()
    again = Pairings(path)
    found = again.check(credential)
    assert found is not None and found.id == device.id
    assert again.check(credential + "x") is None and again.check("fld_") is None
    assert again.revoke(device.id) is not None
    assert Pairings(path).check(credential) is None
    path.write_text("{not json")
    assert len(Pairings(path)) == 0  # unreadable: tablets pair again, the daemon goes on
    full = Pairings()
    for n in range(MAX_DEVICES):
        full.pair(f"t{n}")
    try:
        full.pair("one too many")
    except Exception as exc:
        assert "revoke one" in str(exc)
    else:
        raise AssertionError("a 51st device was paired")
    assert json.loads(json.dumps([d.public() for d in full.devices()]))
