"""Test support: a Floorlink daemon as a real process, and a POS terminal as a real MQTT client."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt

from floorlink.daemon.broker import EmbeddedBroker, free_port

STAFF_TOKEN = "test-staff-token-123"

#: Debian's chromium, launched for an offline machine (no downloads, no background traffic).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def run_schemathesis(
    base_url: str, token: str, cwd: Path, examples: int, seed: int, *extra: str
) -> subprocess.CompletedProcess[str]:
    """Schemathesis's CLI over the API's own OpenAPI document (its pytest plugin does not load
    under pytest 9). Its stateful phase reads a 404 for an unknown *table* in the body of
    /waitlist/{id}/seat as "the entry just created is missing"; it is not, so that check is off."""
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    return subprocess.run(
        [
            cli, "run", f"{base_url}/api/v1/openapi.json",
            "--header", f"Authorization: Bearer {token}",
            "--checks", "all", "--exclude-checks", "ensure_resource_availability",
            "--max-examples", str(examples), "--seed", str(seed), *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )  # fmt: skip


def write_config(
    path: Path,
    broker_port: int,
    http_port: int,
    tables: int = 8,
    extra: str = "",
    snapshot_every: int = 50,
    aliases: dict[str, list[str]] | None = None,
) -> Path:
    aliases = aliases or {}
    rows = "\n".join(
        f'[[tables]]\nid = "{n}"\nseats = {2 if n % 3 == 0 else 4}\nsection = "main"\n'
        + (f"aliases = {json.dumps(aliases[str(n)])}\n" if str(n) in aliases else "")
        for n in range(1, tables + 1)
    )
    path.write_text(
        f"""[site]
id = "test-site"
timezone = "America/Los_Angeles"

[store]
path = "{path.parent / "floorlink.db"}"
snapshot_every = {snapshot_every}

[mqtt]
url = "mqtt://127.0.0.1:{broker_port}"

[http]
listen = "127.0.0.1:{http_port}"
staff_token = "{STAFF_TOKEN}"

{extra}
{rows}
"""
    )
    return path


class Daemon:
    """`floorlink run` in a child process, as systemd would run it."""

    def __init__(
        self,
        workdir: Path,
        broker: EmbeddedBroker,
        tables: int = 8,
        extra: str = "",
        snapshot_every: int = 50,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.http_port = free_port()
        self.config = write_config(
            workdir / "floorlink.toml", broker.port, self.http_port, tables, extra, snapshot_every
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "daemon.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, wait: bool = True) -> None:
        env = dict(os.environ)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "floorlink.daemon.cli", "run", "--config", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"daemon exited {self.proc.returncode}:\n{self.log.read_text()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"daemon not healthy in {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> int:
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=10)
        self.proc = None
        return code

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "floorlink.daemon.cli", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def get(self, path: str) -> Any:
        req = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"Bearer {STAFF_TOKEN}"}
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())

    def get_text(self, path: str) -> str:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as resp:
            return str(resp.read().decode())


class Terminal:
    """A POS terminal: publishes check events, collects its acks and the retained table states."""

    def __init__(self, broker: EmbeddedBroker, name: str = "T1") -> None:
        self.broker = broker
        self.name = name
        self.acks: dict[str, dict[str, Any]] = {}
        self.tables: dict[str, dict[str, Any]] = {}
        self.status: bytes | None = None
        self.guests: dict[str, dict[str, Any] | None] = {}
        self.waitlist: list[dict[str, Any]] = []
        self.client = aiomqtt.Client(
            "127.0.0.1",
            broker.port,
            identifier=f"test-{name}",
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self.n = 0

    async def __aenter__(self) -> Terminal:
        await self.client.__aenter__()
        await self.client.subscribe(f"floorlink/v1/pos/{self.name}/acks", qos=1)
        await self.client.subscribe("floorlink/v1/tables/+", qos=1)
        await self.client.subscribe("floorlink/v1/status", qos=1)
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
        await self.client.__aexit__(None, None, None)

    async def _pump(self) -> None:
        async for msg in self.client.messages:
            topic = str(msg.topic)
            payload = msg.payload if isinstance(msg.payload, bytes) else b""
            if topic.endswith("/acks"):
                ack = json.loads(payload)
                self.acks[ack["id"]] = ack
            elif topic == "floorlink/v1/status":
                self.status = payload
            elif topic == "floorlink/v1/waitlist":
                self.waitlist = json.loads(payload) if payload else []
            elif topic.endswith("/guest"):
                self.guests[topic.split("/")[3]] = json.loads(payload) if payload else None
            elif payload:
                obj = json.loads(payload)
                self.tables[obj["table"]] = obj
            elif topic.startswith("floorlink/v1/tables/"):  # cleared: the table left the floor
                self.tables.pop(topic.rsplit("/", 1)[1], None)
            async with self._changed:
                self._changed.notify_all()

    async def send(
        self, etype: str, eid: str | None = None, at: str | None = None, **fields: Any
    ) -> str:
        self.n += 1
        eid = eid or f"{self.name}-{self.n}-{time.monotonic_ns()}"
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        body = {"id": eid, "type": etype, "at": at or now, **fields}
        await self.client.publish(f"floorlink/v1/pos/{self.name}/events", json.dumps(body), qos=1)
        return eid

    async def raw(self, payload: bytes) -> None:
        await self.client.publish(f"floorlink/v1/pos/{self.name}/events", payload, qos=1)

    async def wait(self, predicate: Any, timeout: float = 10) -> None:
        async def until() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(until(), timeout)

    async def ack(self, eid: str, timeout: float = 10) -> dict[str, Any]:
        await self.wait(lambda: eid in self.acks, timeout)
        return self.acks[eid]

    async def table(self, tid: str, status: str, timeout: float = 10) -> dict[str, Any]:
        await self.wait(lambda: self.tables.get(tid, {}).get("status") == status, timeout)
        return self.tables[tid]


def post(daemon: Daemon, path: str, body: dict[str, Any]) -> Any:
    """A staff write to the daemon's API; its JSON answer."""
    req = urllib.request.Request(
        f"{daemon.url}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {STAFF_TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


async def wait_for(check: Any, what: str) -> Any:
    """Poll a condition read over HTTP or MQTT (the deadline only stops a hung test)."""
    for _ in range(200):
        got = check()
        if got:
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")
