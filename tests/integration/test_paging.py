"""A freed table pages the next party over a real pty transmitter: once, even across unplugs
and crashes."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from support import STAFF_TOKEN, Daemon, Terminal

from floorlink.daemon.broker import EmbeddedBroker
from floorlink.drivers.pagers import Page
from floorlink.drivers.pty_transmitter import PtyTransmitter


def post(daemon: Daemon, path: str, body: dict[str, Any] | None = None) -> Any:
    req = urllib.request.Request(
        f"{daemon.url}{path}",
        data=json.dumps(body or {}).encode(),
        headers={"Authorization": f"Bearer {STAFF_TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


@pytest.fixture
def pager_daemon(tmp_path: Path, broker: EmbeddedBroker, request: pytest.FixtureRequest) -> Any:
    repage = 0.02 if "repages" in request.node.name else 30
    extra = (
        f'[pager]\nport = "{tmp_path / "pager"}"\nrestaurant_id = 1\nsystem_id = 2\n\n'
        f"[paging]\nrepage_after_minutes = {repage}\nmax_pages = 2\n"
    )
    d = Daemon(tmp_path / "daemon", broker, extra=extra)
    yield d
    d.kill()


async def test_check_close_pages_the_right_party_then_repages_then_gives_up(
    tmp_path: Path, broker: EmbeddedBroker, pager_daemon: Daemon
) -> None:
    tx = PtyTransmitter(tmp_path / "pager", restaurant_id=1, system_id=2)
    tx.plug()
    pager_daemon.start()
    async with Terminal(broker) as pos:
        await pos.ack(await pos.send("check.opened", check="1", table="2", guests=4))
        big = post(
            pager_daemon, "/api/v1/waitlist", {"name": "Garcia", "party_size": 6, "pager": 30}
        )
        await pos.client.subscribe("floorlink/v1/waitlist", qos=1)
        kim = post(pager_daemon, "/api/v1/waitlist", {"name": "Kim", "party_size": 3, "pager": 7})
        assert kim["status"] == "waiting" and kim["quoted_minutes"] >= 0
        await pos.wait(lambda: [e["name"] for e in pos.waitlist] == ["Garcia", "Kim"])
        await pos.send("check.closed", check="1", total="80.00")
        await pos.table("2", "bussing")
        pages = await tx.wait_pages(1)
        assert pages[0] == Page(7, 1)
        # not picked up: paged again, then marked left after max_pages
        await tx.wait_pages(2, timeout=20)
        for _ in range(100):
            entries = {e["id"]: e for e in pager_daemon.get("/api/v1/waitlist")}
            if entries[kim["id"]]["status"] == "left":
                break
            await asyncio.sleep(0.2)
        assert entries[kim["id"]]["status"] == "left" and entries[big["id"]]["status"] == "waiting"
    assert tx.pages == [Page(7, 1), Page(7, 1)]
    tx.close()


async def test_a_page_queued_while_unplugged_survives_a_crash_and_is_sent_once(
    tmp_path: Path, broker: EmbeddedBroker, pager_daemon: Daemon
) -> None:
    tx = PtyTransmitter(tmp_path / "pager", restaurant_id=1, system_id=2)
    tx.plug()
    pager_daemon.start()
    async with Terminal(broker) as pos:
        await pos.ack(await pos.send("check.opened", check="1", table="1", guests=2))
        await pos.ack(await pos.send("check.opened", check="2", table="4", guests=2))
        post(pager_daemon, "/api/v1/waitlist", {"name": "Kim", "party_size": 2, "pager": 11})
        post(pager_daemon, "/api/v1/waitlist", {"name": "Ito", "party_size": 2, "pager": 12})
        tx.unplug()  # the adapter is pulled mid-service
        await asyncio.sleep(0.3)
        await pos.ack(await pos.send("check.closed", check="1", total="20.00"))
        await pos.table("1", "bussing")
        await asyncio.sleep(0.3)
        assert tx.pages == []
        tx.replug()  # plugged back: the queued page goes out, once
        await tx.wait_pages(1)
        # now a page committed while unplugged, then the box dies before it could write it
        tx.unplug()
        await pos.ack(await pos.send("check.closed", check="2", total="20.00"))
        await pos.table("4", "bussing")
        pager_daemon.kill()
        tx.replug()
        pager_daemon.start()
        await tx.wait_pages(2)
        await asyncio.sleep(0.5)
    assert [p.pager for p in tx.pages] == [11, 12]
    tx.close()


async def test_a_queued_page_for_a_party_seated_meanwhile_is_not_sent(
    tmp_path: Path, broker: EmbeddedBroker, pager_daemon: Daemon
) -> None:
    tx = PtyTransmitter(tmp_path / "pager", restaurant_id=1, system_id=2)
    pager_daemon.start()  # no transmitter plugged in yet
    async with Terminal(broker) as pos:
        await pos.ack(await pos.send("check.opened", check="1", table="1", guests=2))
        kim = post(pager_daemon, "/api/v1/waitlist", {"name": "Kim", "party_size": 2, "pager": 5})
        await pos.send("check.closed", check="1", total="20.00")
        await pos.table("1", "bussing")
        await pos.send("table.cleared", table="1")
        await pos.table("1", "available")
        seated = post(pager_daemon, f"/api/v1/waitlist/{kim['id']}/seat", {"table": "1"})
        assert seated["status"] == "seated"
        tx.plug()
        await asyncio.sleep(1.0)
    assert tx.pages == []
    metrics = pager_daemon.get_text("/metrics")
    assert 'floorlink_pages_total{result="expired"} 1.0' in metrics
    tx.close()
