"""Text paging: numbers normalised, the AT bytes of a worked example, the modem's answers byte
by byte through noise, and conversations with a simulated modem on a pty: sent, +CMS ERROR,
a missing SIM, silence, replies read and deleted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from floorlink.drivers import serial_port
from floorlink.drivers.pagers import Ack, Busy, Nak, Page, make_protocol
from floorlink.drivers.pagers.base import Delivery, Incoming, Prompt
from floorlink.drivers.pagers.sms import Modem, normalise
from floorlink.drivers.pty_transmitter import PtyTransmitter
from floorlink.paging.sender import make_transport

OPTIONS = {"site_name": "Luna", "command_timeout": 0.3, "ack_timeout": 0.3}


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serial_port, "BACKOFF_START_S", 0.02)
    monkeypatch.setattr(serial_port, "BACKOFF_MAX_S", 0.1)


def test_numbers_are_normalised_from_the_sites_country() -> None:
    assert normalise("(503) 555-0123", "US") == "+15035550123"
    assert normalise("020 7946 0958", "GB") == "+442079460958"
    assert normalise("+1 503 555 0123", "GB") == "+15035550123"
    for bad in ("12", "call me", ""):
        with pytest.raises(ValueError):
            normalise(bad, "US")


def test_worked_example_bytes_and_template() -> None:
    proto = make_protocol("sms", **OPTIONS)
    frame = proto.encode(Page(0, to="(503) 555-0123"))
    text = b"Luna: your table is ready. Reply 1 if you are on your way, 9 to cancel."
    assert frame == b'AT+CMGS="+15035550123"\r' + text + b"\x1a"
    assert proto.decoder().feed(frame) == [Page(0, 1, text.decode(), "+15035550123")]
    with pytest.raises(ValueError, match="no phone number"):
        proto.encode(Page(7))
    with pytest.raises(ValidationError, match="template"):
        make_protocol("sms", template="Hi {name}")


def test_modem_answers_byte_by_byte_through_noise() -> None:
    stream = (
        b"\x00\xffAT+CMGF=1\r\r\nOK\r\n"
        b"garbage line\r\n"
        b'AT+CMGS="+15035550123"\r\r\n> '
        b"\r\n+CMGS: 17\r\n\r\nOK\r\n"
        b"\r\n+CMS ERROR: 332\r\n\r\n+CMS ERROR: 305\r\n\r\n+CME ERROR: 10\r\n\r\nERROR\r\n"
        b'\r\n+CMGL: 3,"REC UNREAD","+15035550123",,"26/11/25,19:02:11-32"\r\n1\r\n'
    )
    decoder = make_protocol("sms").answers()
    got = [a for byte in stream for a in decoder.feed(bytes([byte]))]
    assert got == [
        Prompt("ok"),
        Prompt("text"),
        Ack(17),
        Prompt("ok"),
        Busy("+CMS ERROR: 332 (network timeout)"),
        Nak("+CMS ERROR: 305 (invalid text mode parameter)"),
        Nak("+CME ERROR: 10 (SIM not inserted)"),
        Nak("ERROR"),
        Incoming(3, "+15035550123", "1"),
    ]
    assert decoder.garbage > 0


@pytest.fixture
async def modem(tmp_path: Path) -> AsyncIterator[tuple[PtyTransmitter, Any, Any]]:
    tx = PtyTransmitter(tmp_path / "modem", "sms")
    tx.plug()
    proto = make_protocol("sms", **OPTIONS)
    link = make_transport(proto, str(tmp_path / "modem"))
    await link.start()
    assert await link.wait_connected(5)
    yield tx, proto, link
    await link.stop()
    tx.close()


class Steps:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, state: str, detail: str) -> None:
        self.seen.append(state)


async def test_a_text_is_sent_and_acknowledged(modem: tuple[PtyTransmitter, Any, Any]) -> None:
    tx, proto, link = modem
    steps = Steps()
    result = await proto.deliver(Page(0, to="503 555 0123"), link, steps)
    assert result == Delivery("acknowledged", "message reference 1")
    assert steps.seen == ["written", "acknowledged"]
    assert tx.pages[0].to == "+15035550123" and tx.pages[0].text.startswith("Luna:")


async def test_modem_errors_and_a_missing_sim(modem: tuple[PtyTransmitter, Any, Any]) -> None:
    tx, proto, link = modem
    cases = {
        "nak": ("nak", "+CMS ERROR: 305"),
        "busy": ("busy", "+CMS ERROR: 332"),
        "full": ("busy", "+CMS ERROR: 331"),
        "no_sim": ("nak", "+CME ERROR: 10 (SIM not inserted)"),
        "silent": ("no_answer", "does not answer"),
    }
    for mode, (state, why) in cases.items():
        tx.mode = mode
        result = await proto.deliver(Page(0, to="5035550123"), link, Steps())
        assert result.state == state and why in result.detail, (mode, result)
    tx.mode = "ok"
    tx.script[:] = ["no_sim"]  # the SIM is pulled between text mode and sending
    result = await proto.deliver(Page(0, to="5035550123"), link, Steps())
    assert result == Delivery("nak", "+CMS ERROR: 310 (SIM not inserted)")
    assert tx.pages == []


async def test_replies_are_read_and_deleted(modem: tuple[PtyTransmitter, Any, Any]) -> None:
    tx, proto, link = modem
    sim = tx.sim
    assert isinstance(sim, Modem)
    tx.say(sim.receive("+15035550123", "1"))
    tx.say(sim.receive("+15035550199", " 9 "))
    got = await proto.replies(link)
    assert got == [Incoming(1, "+15035550123", "1"), Incoming(2, "+15035550199", "9")]
    assert sim.inbox == {}
    assert await proto.replies(link) == []
