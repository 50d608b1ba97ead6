"""Multi-site: the shipped bridge example forwards a site's tables to a central broker, and what
was published during a WAN outage arrives when the link returns."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt

from floorlink.daemon.broker import EmbeddedBroker

ROOT = Path(__file__).resolve().parents[2]


def bridge_conf(central_port: int) -> str:
    text = (ROOT / "config" / "mosquitto" / "bridge.conf.example").read_text()
    keep = []
    for line in text.splitlines():
        if line.startswith(("address ", "remote_username", "remote_password")):
            continue
        keep.append(line)
    conf = "\n".join(keep).replace(
        "connection central", f"connection central\naddress 127.0.0.1:{central_port}"
    )
    return conf.replace("restart_timeout 5 60", "restart_timeout 1 2") + "\n"


async def test_tables_reach_the_central_broker_after_an_outage(tmp_path: Path) -> None:
    central = EmbeddedBroker(tmp_path / "central")
    central.start()
    site = EmbeddedBroker(tmp_path / "site", extra_conf=bridge_conf(central.port))
    site.start()
    try:
        central.stop()  # the WAN goes down
        async with aiomqtt.Client("127.0.0.1", site.port) as local:
            for table in ("1", "2", "3"):
                await local.publish(
                    f"floorlink/v1/tables/{table}", f"t{table}".encode(), qos=1, retain=True
                )
            await local.publish("floorlink/v1/tables/1/guest", b"private", qos=1, retain=True)
        central.start()  # the WAN is back
        got: dict[str, bytes] = {}
        async with aiomqtt.Client("127.0.0.1", central.port) as hq:
            await hq.subscribe("sites/#", qos=1)
            try:
                async with asyncio.timeout(20):
                    async for m in hq.messages:
                        got[str(m.topic)] = m.payload if isinstance(m.payload, bytes) else b""
                        if all(
                            f"sites/trattoria-luna/floorlink/v1/tables/{t}" in got for t in "123"
                        ):
                            break
            except TimeoutError:
                pass
        prefix = "sites/trattoria-luna/floorlink/v1/tables/"
        assert {k.removeprefix(prefix): v for k, v in got.items() if k.startswith(prefix)} == {
            "1": b"t1", "2": b"t2", "3": b"t3"
        }  # fmt: skip
        assert not any("guest" in k for k in got)
    finally:
        site.stop()
        central.stop()
