"""First-run setup without a browser: which config files count as a box never set up, what
check-config says of them, and the setup API's refusals (a weak PIN, a bad table, a bad time
zone, an unknown protocol, broken JSON), each a clear 4xx with nothing written."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from floorlink.daemon import cli
from floorlink.daemon.broker import free_port
from floorlink.daemon.config import load_config
from floorlink.daemon.setup_config import build, is_unset, site_id, write
from floorlink.daemon.setup_mode import Setup, serial_ports

SEED = """# written by the installer
[store]
path = "{store}"

[mqtt]
url = "mqtt://127.0.0.1:1883"

[http]
listen = "127.0.0.1:8080"
staff_token = "a-token-of-enough-length"
"""
GOOD = {
    "name": "Osteria Blu",
    "timezone": "Europe/Rome",
    "pin": "583920",
    "tables": [{"id": "1", "seats": 4}, {"id": "2", "seats": 2, "section": "bar"}],
}
Client = TestClient[web.Request, web.Application]


def backups(folder: Path) -> list[Path]:
    return sorted(folder.glob("floorlink.toml.bak-*"))


def seed(tmp_path: Path) -> Path:
    path = tmp_path / "floorlink.toml"
    path.write_text(SEED.format(store=tmp_path / "floorlink.db"))
    return path


def test_which_files_are_a_box_never_set_up(tmp_path: Path) -> None:
    assert is_unset(tmp_path / "missing.toml")
    path = seed(tmp_path)
    assert is_unset(path)
    path.write_text(path.read_text() + '\n[site]\nid = "x"\n')
    assert not is_unset(path)  # a config with a site is checked as a config, never re-set up
    path.write_text("[[tables]]\nid = 1\n")
    assert not is_unset(path)
    path.write_text("not = [toml")
    assert not is_unset(path)  # unreadable: a config error, not a setup page for anyone


def test_check_config_on_a_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = seed(tmp_path)
    assert cli.main(["check-config", "--config", str(path)]) == 0
    assert "not set up yet" in capsys.readouterr().out
    assert cli.main(["doctor", "--config", str(path)]) == 0  # a warning, not a failure
    assert capsys.readouterr().out.startswith("WARN  setup ")
    path.write_text(path.read_text().replace("mqtt://127.0.0.1:1883", "http://x"))
    assert cli.main(["check-config", "--config", str(path)]) == 1
    assert capsys.readouterr().out.startswith("mqtt.url: expected mqtt://")
    path.write_text(SEED.format(store="x") + '\n[pager]\nport = "/dev/ttyUSB0"\n')
    assert cli.main(["check-config", "--config", str(path)]) == 1
    assert "pager: set it in the setup page" in capsys.readouterr().out


def test_build_keeps_the_seed_and_write_keeps_a_backup(tmp_path: Path) -> None:
    path = seed(tmp_path)
    original = path.read_text()
    text, config = build(original, GOOD, {})
    assert text.startswith("# written by the installer")
    assert config.site.id == "osteria-blu" and config.table_ids == ("1", "2")
    assert config.http.staff_token is not None
    assert config.http.staff_token.get_secret_value() == "a-token-of-enough-length"
    first = write(path, text)
    assert first is not None and first.read_text() == original
    assert load_config(path, {}).site.name == "Osteria Blu"
    second = write(path, text)
    assert second is not None and second != first and second.read_text() == text
    assert site_id("  Café & Bar!! ") == "caf-bar" and site_id("!!!") == "site"
    # no token in the seed (and none in the environment): setup makes one
    _, fresh = build("", GOOD, {})
    assert fresh.http.staff_token is not None and len(fresh.http.staff_token) >= 24


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Callable[[], Client]]:
    path = seed(tmp_path)
    setup = Setup(path)
    c: Client = TestClient(TestServer(setup.app(), host="127.0.0.1"))
    await c.start_server()
    yield lambda: c
    await c.close()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"pin": "123456"}, "run of digits"),
        ({"pin": "111111"}, "repeats one digit"),
        ({"pin": "246813"}, "default PIN"),
        ({"pin": "1234"}, "pin"),
        ({"timezone": "Mars/Olympus"}, "IANA time zone"),
        ({"tables": []}, "tables"),
        ({"tables": [{"id": "1", "seats": 2}, {"id": "1", "seats": 4}]}, "listed twice"),
        ({"tables": [{"id": "no spaces", "seats": 2}]}, "tables.0.id"),
        ({"tables": [{"id": "1", "seats": 0}]}, "tables.0.seats"),
        ({"pager": {"port": "/dev/x", "protocol": "morse"}}, "expected one of"),
        (
            {"pager": {"port": "/dev/x", "protocol": "lrs", "options": {"system_id": 99}}},
            "pager.system_id",
        ),
        ({"extra": 1}, "extra"),
    ],
)
async def test_setup_refuses_bad_answers_and_writes_nothing(
    client: Callable[[], Client], tmp_path: Path, change: dict[str, object], words: str
) -> None:
    before = (tmp_path / "floorlink.toml").read_text()
    resp = await client().post("/api/v1/setup", json={**GOOD, **change})
    assert resp.status in (400, 422), await resp.text()
    assert words.lower() in (await resp.json())["error"].lower()
    assert (tmp_path / "floorlink.toml").read_text() == before
    assert not backups(tmp_path)


async def test_setup_once_then_409(client: Callable[[], Client], tmp_path: Path) -> None:
    c = client()
    assert (await c.post("/api/v1/setup", data=b"{not json")).status == 400
    form = await (await c.get("/api/v1/setup")).json()
    assert "Europe/Rome" in form["timezones"] and "lrs" in {p["name"] for p in form["protocols"]}
    lrs = next(p for p in form["protocols"] if p["name"] == "lrs")
    assert lrs["options"]["properties"]["restaurant_id"]["maximum"] == 255
    resp = await c.post("/api/v1/setup", json=GOOD)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["tables"] == 2
    assert (await c.post("/api/v1/setup", json=GOOD)).status == 409
    assert (await c.get("/api/v1/setup")).status == 409
    assert (await c.post("/api/v1/setup/pager-test", json={})).status == 409
    (backup,) = backups(tmp_path)
    assert "[site]" not in backup.read_text()


async def test_a_test_page_to_a_port_that_is_not_there(client: Callable[[], Client]) -> None:
    body = {"port": "/dev/no-such-pager", "protocol": "lrs", "pager": 3}
    resp = await client().post("/api/v1/setup/pager-test", json=body)
    assert resp.status == 200
    answer = await resp.json()
    assert answer["delivery"] == "port_unavailable" and "/dev/no-such-pager" in answer["detail"]
    bad = {**body, "options": {"restaurant_id": 999}}
    assert (await client().post("/api/v1/setup/pager-test", json=bad)).status == 422
    resp = await client().post("/api/v1/setup/pager-test", json={**body, "pager": 9999})
    assert resp.status == 422 and "1-4095" in (await resp.json())["error"]


def test_serial_ports_lists_present_devices_once(tmp_path: Path) -> None:
    node = tmp_path / "ttyFAKE0"
    node.touch()
    (tmp_path / "by-id-usb-FTDI").symlink_to(node)
    (tmp_path / "by-id-gone").symlink_to(tmp_path / "unplugged")
    env = {"FLOORLINK_SERIAL_GLOBS": f"{tmp_path}/by-id-*:{tmp_path}/tty*"}
    ports = [p for p in serial_ports(env) if p["path"].startswith(str(tmp_path))]
    assert ports == [{"path": str(tmp_path / "by-id-usb-FTDI"), "label": ports[0]["label"]}]
    assert "ttyFAKE0" in ports[0]["label"]


def test_the_setup_page_tells_systemd_it_is_ready_and_alive(tmp_path: Path) -> None:
    """Under systemd (Type=notify, WatchdogSec=) the setup page is the service being up: READY,
    then watchdog pings while it waits; SIGTERM ends it cleanly."""
    path = seed(tmp_path)
    path.write_text(path.read_text().replace("127.0.0.1:8080", f"127.0.0.1:{free_port()}"))
    sock_path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(sock_path))
        server.settimeout(20)
        env = dict(os.environ, NOTIFY_SOCKET=str(sock_path), WATCHDOG_USEC="200000")
        env.pop("WATCHDOG_PID", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "floorlink.daemon.cli", "run", "--config", str(path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            got = [server.recv(1024) for _ in range(3)]
        finally:
            proc.send_signal(signal.SIGTERM)
            out = proc.communicate(timeout=20)[0]
    assert b"READY=1" in got[0] and b"waiting for setup" in got[0], got
    assert b"WATCHDOG=1" in got[1:], got
    assert proc.returncode == 0, out
    assert is_unset(path)  # nothing written


def test_a_taken_port_and_other_commands_on_a_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = seed(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path.write_text(path.read_text().replace("127.0.0.1:8080", f"127.0.0.1:{port}"))
        done = subprocess.run(
            [sys.executable, "-m", "floorlink.daemon.cli", "run", "--config", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert cli.main(["replay", "--config", str(path)]) == cli.EXIT_CONFIG
    assert "not set up yet" in capsys.readouterr().err
