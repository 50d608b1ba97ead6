"""No staff token, PIN or device credential in any log line (issue 16, item 10), including the
ones aiohttp writes itself about a malformed request line that carries `?token=` (the live
stream's documented form). The daemon runs as a process at debug level; its whole output is
grepped after the run."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_support import PIN
from support import STAFF_TOKEN, Daemon

from floorlink.daemon.broker import EmbeddedBroker


@pytest.fixture
def pin_daemon(tmp_path: Path, broker: EmbeddedBroker) -> Iterator[Daemon]:
    d = Daemon(tmp_path / "daemon", broker, extra='[log]\nlevel = "debug"\nformat = "json"\n')
    text = d.config.read_text().replace(
        'staff_token = "', f'staff_pin = "{PIN}"\npin_attempts_per_minute = 2\nstaff_token = "'
    )
    d.config.write_text(text)
    d.start()
    yield d
    d.kill()


def raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and b"text/event-stream" in answer:
                break
    return answer


def post(url: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_no_token_pin_or_credential_reaches_the_log(pin_daemon: Daemon) -> None:
    port = pin_daemon.http_port
    status, paired = post(f"{pin_daemon.url}/api/v1/devices", {"pin": PIN, "name": "Stand"})
    assert status == 201
    credential = str(paired["token"])
    secrets = [STAFF_TOKEN, PIN, credential]
    for secret in (STAFF_TOKEN, credential):
        q = secret.encode()
        bad_lines = [
            b"GET /api/v1/stream?token=" + q + b" HTTP/1.1 junk\r\n\r\n",
            b"GE\x01T /api/v1/stream?token=" + q + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /api/v1/stream?token=" + q + b"\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /api/v1/stream?token=" + q + b" HTTP/9.9\r\nHost: x\r\n\r\n",
            b"GET /api/v1/tables HTTP/1.1\r\nAuthorization: Bearer " + q + b"\x00\r\n\r\n",
            b"GET /api/v1/tables HTTP/1.1\r\nAuthorization: Bearer " + q + b"\x7f\r\n\r\n",
            b"GET /api/v1/stream?token=" + q + b"&x=" + b"%ff" * 3000 + b" HTTP/1.1\r\n\r\n",
        ]
        for line in bad_lines:
            assert raw(port, line).startswith(b"HTTP/1."), line[:40]
        # a good stream request with the query token, then gone
        good = b"GET /api/v1/stream?token=" + q + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        assert b" 200 " in raw(port, good)
    # wrong PINs until this client is locked out (a warning), then the PIN in a bad request line
    for wrong in ("000000", "111111", "222222"):
        post(f"{pin_daemon.url}/api/v1/session", {"pin": wrong})
    raw(port, b"POST /api/v1/session?pin=" + PIN.encode() + b" HTTP/1.1 x\r\n\r\n")
    pin_daemon.stop()  # everything written and flushed
    log = pin_daemon.log.read_text(errors="replace")
    assert "unparsable request from" in log  # aiohttp's own records: one line each, scrubbed
    assert "locked out" in log
    for secret in secrets:
        assert secret not in log, f"{secret[:6]}... is in the log"
