"""Guest names, phones and emails never reach the logs, from our code, from a traceback or from a
library's stdlib logger; our own fields do."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from floorlink.daemon.logs import configure_logging

GUEST = {"name": "Maria Rossi", "phone": "+1 415 555 0100", "email": "maria@example.com"}
SECRETS = ("Maria", "555-0100", "555 0100", "maria@example.com", "s3cret")


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    configure_logging("info", "json")
    yield capsys
    structlog.reset_defaults()  # the captured stderr closes after the test
    root = logging.getLogger()
    for handler in root.handlers[:]:
        if type(handler).__name__ == "_StderrHandler":
            root.removeHandler(handler)


def last_line(capsys: pytest.CaptureFixture[str]) -> tuple[str, dict[str, Any]]:
    line = capsys.readouterr().err.strip().splitlines()[-1]
    for secret in SECRETS:
        assert secret not in line
    event: dict[str, Any] = json.loads(line)
    return line, event


def test_guest_data_and_secrets_are_redacted(json_logs: pytest.CaptureFixture[str]) -> None:
    structlog.get_logger("test").info(
        "party seated",
        table="12",
        name="Maria Rossi",
        guest={**GUEST, "vip": True},
        reservation={"party": [{"guest_phone": "4155550100", "covers": 4}], "source": "web"},
        note="call back on 415-555-0100 or maria@example.com",
        raw=b'{"email": "maria@example.com"}',
        token="s3cret-token",
        cloud_token="s3cret-2",
        port="/dev/ttyUSB0",
        host="127.0.0.1",
        at="2026-11-22T19:31:05-08:00",
        check_id="chk-20261122-0042",
    )
    _, event = last_line(json_logs)
    assert event["table"] == "12" and event["port"] == "/dev/ttyUSB0"
    assert event["host"] == "127.0.0.1" and event["at"] == "2026-11-22T19:31:05-08:00"
    assert event["check_id"] == "chk-20261122-0042"
    assert event["guest"] == "[redacted]" and event["name"] == "[redacted]"
    assert event["reservation"] == {
        "party": [{"guest_phone": "[redacted]", "covers": 4}], "source": "web"
    }  # fmt: skip


def test_tracebacks_carry_no_payloads(json_logs: pytest.CaptureFixture[str]) -> None:
    def handle(payload: dict[str, Any]) -> None:
        contact = f"{payload['phone']} / {payload['email']}"  # a local that must not be logged
        raise ValueError(f"no table for the party ({contact})")

    try:
        handle(dict(GUEST))
    except ValueError:
        structlog.get_logger("test").exception("reservation rejected")
    line, event = last_line(json_logs)
    assert event["exception"][0]["exc_type"] == "ValueError"
    assert [f["name"] for f in event["exception"][0]["frames"]][-1] == "handle"
    assert "locals" not in line


def test_library_records_go_through_the_same_redaction(
    json_logs: pytest.CaptureFixture[str],
) -> None:
    logging.getLogger("aiohttp.server").error("bad request from %s", "maria@example.com")
    _, event = last_line(json_logs)
    assert event["logger"] == "aiohttp.server" and event["level"] == "error"
    assert event["event"] == "bad request from [redacted]"
    logging.getLogger("zeroconf").info("chatter")  # libraries' INFO stays out
    assert json_logs.readouterr().err == ""
