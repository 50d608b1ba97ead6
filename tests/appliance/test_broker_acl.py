"""The shipped broker ACL on a real Mosquitto: each terminal only its own topics (from the `%u`
patterns, with nothing but a password added), no guest details and no POS topics for the
host-stand and monitoring roles, no anonymous access."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from floorlink.daemon.broker import EmbeddedBroker
from floorlink.daemon.terminals import add_terminal

ROOT = Path(__file__).resolve().parents[2]
ROLES = {"floorlink": "daemon-pass", "host-stand": "host-pass", "monitor": "mon-pass"}


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[EmbeddedBroker, dict[str, str]]]:
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    acl.write_text((ROOT / "config" / "mosquitto" / "floorlink.acl").read_text())
    creds = dict(ROLES)
    for user, password in ROLES.items():
        flags = ["-b"] if passwd.exists() else ["-c", "-b"]
        subprocess.run(["mosquitto_passwd", *flags, str(passwd), user, password], check=True)
    for terminal in ("bar-1", "bar-2"):
        creds[terminal] = add_terminal(terminal, passwd)
    broker = EmbeddedBroker(tmp_path / "mosquitto", auth=(passwd, acl))
    broker.start()
    yield broker, creds
    broker.stop()


async def collect(client: aiomqtt.Client, seconds: float = 0.6) -> list[tuple[str, bytes]]:
    got: list[tuple[str, bytes]] = []
    try:
        async with asyncio.timeout(seconds):
            async for m in client.messages:
                got.append((str(m.topic), m.payload if isinstance(m.payload, bytes) else b""))
    except TimeoutError:
        pass
    return got


def client(broker: EmbeddedBroker, creds: dict[str, str], user: str) -> aiomqtt.Client:
    return aiomqtt.Client("127.0.0.1", broker.port, username=user, password=creds[user])


async def test_terminals_and_roles_see_only_what_they_may(
    secured: tuple[EmbeddedBroker, dict[str, str]],
) -> None:
    broker, creds = secured
    async with (
        client(broker, creds, "floorlink") as daemon,
        client(broker, creds, "bar-1") as bar1,
        client(broker, creds, "host-stand") as host,
        client(broker, creds, "monitor") as monitor,
    ):
        await daemon.subscribe("floorlink/v1/pos/+/events", qos=1)
        await bar1.subscribe("floorlink/v1/pos/+/acks", qos=1)
        await bar1.subscribe("floorlink/v1/tables/#", qos=1)
        await bar1.subscribe("floorlink/v1/status", qos=1)
        for role in (host, monitor):
            await role.subscribe("floorlink/#", qos=1)
        # a terminal publishes its own events, and cannot publish as another terminal;
        # the roles get terminal patterns too, so they must not be able to post as one
        await bar1.publish("floorlink/v1/pos/bar-1/events", b"mine", qos=1)
        await bar1.publish("floorlink/v1/pos/bar-2/events", b"forged", qos=1)
        await host.publish("floorlink/v1/pos/host-stand/events", b"forged-host", qos=1)
        await monitor.publish("floorlink/v1/pos/monitor/events", b"forged-monitor", qos=1)
        await bar1.publish("floorlink/v1/tables/12", b"forged-table", qos=1)
        seen = await collect(daemon)
        assert ("floorlink/v1/pos/bar-1/events", b"mine") in seen
        assert not [payload for _, payload in seen if payload.startswith(b"forged")]
        # the daemon answers both terminals; bar-1 reads only its own acks
        await daemon.publish("floorlink/v1/pos/bar-1/acks", b"ack-1", qos=1)
        await daemon.publish("floorlink/v1/pos/bar-2/acks", b"ack-2", qos=1)
        await daemon.publish("floorlink/v1/pos/host-stand/acks", b"ack-host", qos=1)
        await daemon.publish("floorlink/v1/tables/12", b"table", qos=1)
        await daemon.publish("floorlink/v1/tables/12/guest", b"guest", qos=1)
        await daemon.publish("floorlink/v1/status", b"online", qos=1)
        await daemon.publish("floorlink/v1/waitlist", b"waitlist", qos=1)
        bar_seen = {payload for _, payload in await collect(bar1)}
        host_seen = {payload for _, payload in await collect(host)}
        monitor_seen = {payload for _, payload in await collect(monitor)}
    assert bar_seen == {b"ack-1", b"table", b"guest", b"online"}
    assert host_seen == {b"table", b"online", b"waitlist"}  # never guest details or acks
    assert monitor_seen == {b"online"}  # table objects carry names: a monitor gets none


async def test_no_anonymous_and_no_wrong_password(
    secured: tuple[EmbeddedBroker, dict[str, str]],
) -> None:
    broker, _ = secured
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", broker.port):
            pass
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", broker.port, username="bar-1", password="nope"):
            pass


def test_add_terminal_prints_what_to_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from floorlink.daemon.cli import main

    passwd = str(tmp_path / "p")
    code = main(["add-terminal", "bar-3", "--passwd-file", passwd, "--no-reload"])
    out = capsys.readouterr().out
    assert code == 0 and "username      bar-3" in out and "floorlink/v1/pos/bar-3/events" in out
    assert (tmp_path / "p").read_text().startswith("bar-3:")
    for bad in ("host-stand", "bar/1", "bar+1", "#", "a:b", ""):
        assert main(["add-terminal", bad, "--passwd-file", passwd, "--no-reload"]) == 1
        assert "floorlink add-terminal:" in capsys.readouterr().out
    unwritable = str(tmp_path / "p" / "not-a-dir")  # a file where a folder should be
    assert main(["add-terminal", "bar-4", "--passwd-file", unwritable, "--no-reload"]) == 1
