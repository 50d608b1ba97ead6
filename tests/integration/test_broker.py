"""The real broker under the suite: it carries a message and keeps a session across a restart."""

from __future__ import annotations

import asyncio

import aiomqtt

from floorlink.daemon.broker import EmbeddedBroker


async def test_persistent_session_survives_broker_restart(broker: EmbeddedBroker) -> None:
    sub = aiomqtt.Client("127.0.0.1", broker.port, identifier="t-sub", clean_session=False)
    async with sub:
        await sub.subscribe("t/q", qos=1)
    broker.restart()
    async with aiomqtt.Client("127.0.0.1", broker.port) as pub:
        await pub.publish("t/q", b"kept", qos=1)
    async with sub:
        msg = await asyncio.wait_for(anext(aiter(sub.messages)), 5)
    assert msg.payload == b"kept"
