"""Guest names, phones and emails never reach the logs; our own fields do."""

from __future__ import annotations

import json

import pytest
import structlog

from floorlink.daemon.logs import configure_logging


def _log_a_guest() -> None:
    structlog.get_logger("test").info(
        "party seated",
        table="12",
        name="Maria Rossi",
        guest={"name": "Maria Rossi", "phone": "+1 415 555 0100", "vip": True},
        note="call back on 415-555-0100 or maria@example.com",
        token="s3cret-token",
        port="/dev/ttyUSB0",
        host="127.0.0.1",
        at="2026-11-22T19:31:05-08:00",
    )


def test_guest_data_and_secrets_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    try:
        _log_a_guest()
    finally:
        structlog.reset_defaults()  # the captured stderr closes after this test
    line = capsys.readouterr().err.strip().splitlines()[-1]
    for secret in ("Maria", "555-0100", "555 0100", "maria@example.com", "s3cret"):
        assert secret not in line
    event = json.loads(line)
    assert event["table"] == "12" and event["port"] == "/dev/ttyUSB0"
    assert event["host"] == "127.0.0.1" and event["at"] == "2026-11-22T19:31:05-08:00"
    assert event["guest"] == "[redacted]" and event["name"] == "[redacted]"
