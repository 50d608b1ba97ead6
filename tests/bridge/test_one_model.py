"""One model for the table object (issue 10): what the daemon retains on MQTT, answers over HTTP
and pushes to the cloud fits the same pydantic models (daemon/api_models.py), and is the same
object in all three places. The real daemon in-process, a real Mosquitto, a real local cloud."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from app_support import AUTH, TOKEN, start_app
from fake_cloud import TOKEN as CLOUD_TOKEN
from fake_cloud import FakeCloud
from support import Terminal

from floorlink.daemon.api_models import CloudEvent, Table, TableObject
from floorlink.daemon.broker import EmbeddedBroker
from floorlink.daemon.http import HttpSettings, make_app


@pytest.fixture
async def cloud() -> AsyncIterator[FakeCloud]:
    async with FakeCloud.running() as c:
        yield c


async def test_mqtt_http_and_cloud_carry_the_same_table_object(
    tmp_path: Path, broker: EmbeddedBroker, cloud: FakeCloud
) -> None:
    extra = f'[cloud]\nurl = "{cloud.url}"\ntoken = "{CLOUD_TOKEN}"\npull_interval_seconds = 1\n'
    app = await start_app(tmp_path / "app", broker, 4, extra)
    client = TestClient(TestServer(make_app(app, HttpSettings(staff_token=TOKEN))))
    await client.start_server()
    try:
        async with Terminal(broker) as pos:
            for eid in [
                await pos.send("check.opened", check="1", table="1", guests=3, server="emp-1"),
                await pos.send("check.course_fired", check="1", course="entrees"),
                await pos.send("check.opened", check="2", table="2", guests=2),
                await pos.send("check.closed", check="2", total="12.50"),
            ]:
                assert (await pos.ack(eid))["result"] == "accepted"
            seat = await client.post("/api/v1/tables/3/seat", json={"party_size": 2}, headers=AUTH)
            block = await client.post("/api/v1/tables/4/block", json={"reason": "x"}, headers=AUTH)
            assert seat.status == block.status == 200
            await pos.wait(lambda: pos.tables.get("4", {}).get("status") == "blocked")
            mqtt = dict(pos.tables)
        http = await (await client.get("/api/v1/tables", headers=AUTH)).json()
        async with asyncio.timeout(20):  # the pusher delivers every table.status in order
            while not any(  # noqa: ASYNC110 - the cloud is another part
                e["type"] == "table.status" and e["data"] == mqtt["4"]
                for e in cloud.events.values()
            ):
                await asyncio.sleep(0.05)
    finally:
        await client.close()
        await app.stop()
    assert set(mqtt) == {"1", "2", "3", "4"}
    for obj in mqtt.values():
        assert TableObject.model_validate(obj).model_dump(exclude_unset=True) == obj
    for row in http:
        Table.model_validate(row)
        assert {k: v for k, v in row.items() if k in mqtt[row["table"]]} == mqtt[row["table"]]
    pushed = [CloudEvent.model_validate(e) for e in cloud.events.values()]
    statuses = [e.data for e in pushed if e.type == "table.status"]
    assert statuses and all(TableObject.model_validate(d) for d in statuses)
    latest = {d["table"]: d for d in sorted(statuses, key=lambda d: d["seq"])}
    assert latest == mqtt
