"""End to end with the real daemon: a closed check pages the next party through an LRS T74
(simulated on a pty), and the waitlist row, `floorlink/v1/waitlist`, /metrics and the status's
components show the page acknowledged, then transmitted, and the transmitter unplugged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import Daemon, Terminal, post, wait_for

from floorlink.daemon.broker import EmbeddedBroker
from floorlink.drivers.http_transmitter import HttpTransmitter
from floorlink.drivers.pagers import Page
from floorlink.drivers.pty_transmitter import PtyTransmitter


@pytest.fixture
def t74_daemon(tmp_path: Path, broker: EmbeddedBroker) -> Any:
    extra = (
        f'[pager]\nport = "{tmp_path / "pager"}"\nprotocol = "lrs-t74"\n'
        "system_id = 1\nalert_type = 67\nack_timeout = 0.5\ndone_timeout = 2.0\n"
    )
    d = Daemon(tmp_path / "daemon", broker, extra=extra)
    yield d
    d.kill()


async def test_check_closed_page_is_acknowledged_then_transmitted_on_the_stand(
    tmp_path: Path, broker: EmbeddedBroker, t74_daemon: Daemon
) -> None:
    tx = PtyTransmitter(tmp_path / "pager", "lrs-t74", system_id=1)
    tx.plug()
    t74_daemon.start()
    try:
        async with Terminal(broker) as pos:
            await pos.client.subscribe("floorlink/v1/waitlist", qos=1)
            await pos.ack(await pos.send("check.opened", check="1", table="2", guests=2))
            kim = post(t74_daemon, "/api/v1/waitlist", {"name": "Kim", "party_size": 2, "pager": 7})
            await pos.send("check.closed", check="1", total="20.00")
            assert await tx.wait_pages(1) == [Page(7, 0x43)]
            assert bytes(tx.raw) == b"CPG,7,43,3\r"

            def row() -> dict[str, Any]:
                return next(e for e in pos.waitlist if e["id"] == kim["id"]) if pos.waitlist else {}

            await pos.wait(lambda: row().get("delivery") == "transmitted")
            api = {e["id"]: e for e in t74_daemon.get("/api/v1/waitlist")}
            assert api[kim["id"]]["delivery"] == "transmitted"
            assert api[kim["id"]]["status"] == "paged"
        metrics = t74_daemon.get_text("/metrics")
        for state in ("written", "acknowledged", "transmitted", "sent"):
            assert f'floorlink_pages_total{{result="{state}"}} 1.0' in metrics
        assert "floorlink_pager_up 1.0" in metrics
        assert 'floorlink_component_up{component="pager"} 1.0' in metrics

        tx.unplug()  # the transmitter is pulled: the status says so
        status = await wait_for(
            lambda: (
                (s := t74_daemon.get("/api/v1/status"))["components"]["pager"]["up"] is False and s
            ),
            "the pager component down",
        )
        assert status["pager"] == "down"
        assert "not connected" in status["components"]["pager"]["detail"]
        await wait_for(
            lambda: (
                'floorlink_component_up{component="pager"} 0.0' in t74_daemon.get_text("/metrics")
            ),
            "floorlink_component_up 0",
        )
    finally:
        tx.close()


@pytest.fixture
async def rps() -> Any:
    box = HttpTransmitter()
    await box.start()
    yield box
    await box.stop()


async def test_an_http_transmitter_acknowledges_a_page(
    tmp_path: Path, broker: EmbeddedBroker, rps: HttpTransmitter
) -> None:
    extra = f'[pager]\nport = "{rps.url}"\nprotocol = "rps-http"\nrestaurant_id = 4\n'
    d = Daemon(tmp_path / "daemon", broker, extra=extra)
    d.start()
    try:
        async with Terminal(broker) as pos:
            await pos.ack(await pos.send("check.opened", check="1", table="2", guests=2))
            kim = post(d, "/api/v1/waitlist", {"name": "Kim", "party_size": 2, "pager": 9})
            await pos.send("check.closed", check="1", total="20.00")
            assert await rps.wait_pages(1) == [Page(9, 1)]
            assert rps.queries[0]["restaurant_id"] == "4"
            await wait_for(
                lambda: (
                    {e["id"]: e for e in d.get("/api/v1/waitlist")}[kim["id"]]["delivery"]
                    == "acknowledged"
                ),
                "the row says acknowledged",
            )
    finally:
        d.kill()
