"""Each transmitter protocol: its worked example's bytes, its answers decoded byte by byte and
through noise, and its conversation with a simulated transmitter on a real pty (or a loopback
HTTP box): acknowledged, transmitted, NAK, busy, queue full, no answer, unplug and replug."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError
from test_pagers import PagerCodecContract

from floorlink.drivers import serial_port
from floorlink.drivers.http_transmitter import HttpTransmitter
from floorlink.drivers.pagers import Ack, Busy, Nak, Page, Transmitted, make_protocol, rps_http, tap
from floorlink.drivers.pagers.base import Delivery, Prompt
from floorlink.drivers.pagers.link import SerialLink
from floorlink.drivers.pty_transmitter import PtyTransmitter
from floorlink.drivers.serial_port import PortUnavailable, SerialPort
from floorlink.paging.sender import make_transport

NOISE = b"\x00\xff\x15garbage\r\n\x06\x01\x04"


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serial_port, "BACKOFF_START_S", 0.02)
    monkeypatch.setattr(serial_port, "BACKOFF_MAX_S", 0.1)
    monkeypatch.setattr(rps_http, "PROBE_START_S", 0.02)
    monkeypatch.setattr(rps_http, "PROBE_MAX_S", 0.1)


def bytewise(decoder: Any, stream: bytes) -> list[Any]:
    return [a for byte in stream for a in decoder.feed(bytes([byte]))]


# ---- worked examples and the transmitter-side decoders --------------------------------------


class TestT74Coaster(PagerCodecContract):
    protocol = "lrs-t74"
    options: ClassVar[dict[str, Any]] = {"system_id": 1}
    # coaster 12, page mode 0x43 (flash and loud beep 3 times), power 3: `CPG,12,43,3` CR
    example = (Page(12, 0x43), "43 50 47 2c 31 32 2c 34 33 2c 33 0d")


def test_t74_coaster_page_is_the_documented_cpg_form() -> None:
    """LRS "Anti Theft Mode": `CPG,45,8A,3` pages coaster 45, mode 8A, power level 3. Without
    the anti-theft bit (80) the same page is mode 0A, flash 1 second."""
    proto = make_protocol("lrs-t74", power=3)
    assert proto.encode(Page(45, 0x0A)) == b"CPG,45,0A,3\r"
    assert make_protocol("lrs-t74", power=5).encode(Page(1018, 0x01)) == b"CPG,1018,01,5\r"


class TestJtech(PagerCodecContract):
    protocol = "jtech"
    options: ClassVar[dict[str, Any]] = {"capcode_prefix": "010", "alert_codes": True}
    # base id 010, pager 1, alert 3: the J1901 data sheet's frame with the `33` alert message
    example = (Page(1, 3), "ff ff ff 01 30 31 30 30 30 30 31 03 33 33 0d")


class TestWaveWare(PagerCodecContract):
    protocol = "waveware"
    options: ClassVar[dict[str, Any]] = {"capcode_base": 145674}
    # manual p. 42 example 4: three beeps at 1200 bps to capcode 0145678
    example = (Page(4, 3), "01 33 2c 31 2c 30 31 34 35 36 37 38 04")


def test_jtech_data_sheet_example_numeric_default_alert() -> None:
    """J1901 data sheet 9-1: base id 010, pager 0001, numeric: FF FF FF 01 '0100001' 03 0D."""
    proto = make_protocol("jtech", capcode_prefix="010")
    assert proto.encode(Page(1)).hex(" ") == "ff ff ff 01 30 31 30 30 30 30 31 03 0d"
    alpha = make_protocol("jtech", capcode_prefix="010", kind="alpha")
    assert alpha.encode(Page(4, 1, "ABCDEFG")).hex(" ") == (
        "ff ff ff 03 30 31 30 30 30 30 34 0a 41 42 43 44 45 46 47 0d"
    )
    assert proto.serial_settings()["rtscts"] is True and proto.default_baud == 1200


def test_t74_alpha_page_alert_override_and_cancel() -> None:
    proto = make_protocol("lrs-t74", kind="alpha", system_id=4, alert_override="F30Vv5")
    assert proto.encode(Page(105, 1, "Hello world!")) == b"PAGE,105,4,Hello world!\\fF30Vv5\r"
    cancel = make_protocol("lrs-t74", system_id=4).cancel(105)  # type: ignore[attr-defined]
    assert cancel == b"PAGE,105,4,\\fC54\r"
    with pytest.raises(ValueError, match="page mode"):
        make_protocol("lrs-t74").encode(Page(1, 0x99))


def test_waveware_alpha_matches_the_manual_layout() -> None:
    proto = make_protocol("waveware", message_type="A", data_rate=512)
    frame = proto.encode(Page(46180, 1, "This is a test"))
    assert frame == b"\x01A,5,0046180,\x02This is a test\x03\x04"
    assert proto.decoder().feed(frame) == [Page(46180, 1, "This is a test")]


def test_tap_block_checksum_worked_example() -> None:
    """STX '1234' CR 'Hello' CR ETX: sum 0x2DD -> '2', '=', '=' (spec 5.0: nibble + 0x30)."""
    frame = make_protocol("tap", message="Hello").encode(Page(1234))
    assert frame == b"\x021234\rHello\r\x03" + b"2==" + b"\r"
    assert tap.decode(frame) == Page(1234, 1, "Hello")
    bad = frame.replace(b"2==", b"2=>")
    assert tap.TapBlocks().feed(bad) == []
    assert make_protocol("tap").serial_settings() == {
        "bytesize": 7,
        "parity": "E",
        "stopbits": 1,
        "xonxoff": False,
    }


def test_rps_http_query_worked_example() -> None:
    proto = make_protocol("rps-http", restaurant_id=1, system_id=2)
    assert proto.encode(Page(7, 1)) == (
        b"mode=0&restaurant_id=1&system_id=2&pager_number=7&alert_type=1"
    )
    assert proto.decoder().feed(proto.encode(Page(7, 1))) == [Page(7, 1)]


def test_options_are_validated_by_each_protocol() -> None:
    with pytest.raises(ValidationError, match="capcode_prefix"):
        make_protocol("jtech", capcode_prefix="7")
    with pytest.raises(ValidationError, match="data_rate"):
        make_protocol("waveware", data_rate=9600)
    with pytest.raises(ValidationError, match="extra"):
        make_protocol("lrs", capcode=1)


# ---- the transmitters' answers, byte by byte and through noise -------------------------------


def test_t74_answers_byte_by_byte_through_noise() -> None:
    stream = NOISE + b"CPG,12\r" + b"\x00junk\r\n" + b"SCPG,12\r\nPPG,7\rSPPG,7\r" + b"ERR,BAD\r"
    decoder = make_protocol("lrs-t74").answers()
    got = bytewise(decoder, stream)
    assert got == [Ack(12), Transmitted(12), Ack(7), Transmitted(7), Nak("ERR,BAD")]
    assert decoder.garbage > 0
    assert bytewise(make_protocol("lrs-t74").answers(), b"X" * 10_000 + b"\rCPG,1\r") == [Ack(1)]


def test_waveware_answers_skip_the_echo_and_read_queue_and_errors() -> None:
    echo = make_protocol("waveware", capcode_base=100).encode(Page(5, 2))
    stream = (
        b"noise"
        + echo
        + b"\x01\x06V9.01,03,0,1,1A\x04\r\n"
        + b"\x01\x1503\x04"
        + b"\x01\x1504\x04"
        + b"\x01\x1505\x04"
    )
    decoder = make_protocol("waveware").answers()
    got = bytewise(decoder, stream)
    assert got == [
        Ack(None, 3),
        Nak("NAK 03: invalid capcode"),
        Busy("NAK 04: input buffer overflow"),
        Busy("NAK 05: paging buffer overflow"),
    ]
    assert decoder.garbage >= len(b"noise")


def test_tap_answers_byte_by_byte() -> None:
    stream = (
        b"\x00ID="
        + b"110 1.8\r\r\x06\r\x1b[p\r"
        + b"garbage\r"
        + b"211 Page(s) Sent\r\r\x06\r"
        + b"\r\x15\r\r\x1e\r"
        + b"115 Goodbye\r\r\x1b\x04\r"
    )
    got = bytewise(make_protocol("tap").answers(), stream)
    assert got == [
        Prompt("id"),
        Ack(),
        Prompt("go"),
        Ack(),
        Nak("NAK"),
        Nak("RS: refused"),
        Prompt("bye", "115 Goodbye"),
    ]


def test_rps_answers() -> None:
    d = make_protocol("rps-http").answers()
    assert d.feed(b"200\nmode: 0\npager_number: 7\n") == [Ack(7)]
    assert d.feed(b"400\nInvalid parameters supplied") == [
        Nak("HTTP 400: Invalid parameters supplied")
    ]
    assert d.feed(b"503\nbusy") == [Busy("HTTP 503: busy")]
    assert d.feed(b"garbage") == [] and d.garbage == 7


# ---- conversations with the simulated transmitters on ptys -----------------------------------


class Steps:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, state: str, detail: str) -> None:
        self.seen.append(state)


@pytest.fixture
async def rig(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    name, options = request.param
    tx = PtyTransmitter(tmp_path / "tx", name, **options)
    tx.plug()
    proto = make_protocol(name, **options)
    link = make_transport(proto, str(tmp_path / "tx"))
    await link.start()
    assert await link.wait_connected(5)
    yield tx, proto, link
    await link.stop()
    tx.close()


SERIAL = [
    ("lrs-t74", {"system_id": 1, "ack_timeout": 0.3, "done_timeout": 0.3}),
    ("waveware", {"capcode_base": 100, "ack_timeout": 0.3}),
    # a pty refuses parity settings (tcsetattr EINVAL), so the simulated TAP line is 8N1
    ("tap", {"id_timeout": 0.2, "ack_timeout": 0.3, "line": "8N1"}),
]
FINAL = {"lrs-t74": "transmitted", "waveware": "acknowledged", "tap": "acknowledged"}


@pytest.mark.parametrize("rig", SERIAL, indirect=True, ids=[s[0] for s in SERIAL])
async def test_a_page_is_acknowledged_and_reported(rig: Any) -> None:
    tx, proto, link = rig
    steps = Steps()
    result = await proto.deliver(Page(12, 3), link, steps)
    assert result.state == FINAL[proto.name] and result.detail == ""
    expected = ["written", "acknowledged"] + (["transmitted"] if proto.name == "lrs-t74" else [])
    assert steps.seen == expected
    assert [p.pager for p in tx.pages] == [12]


@pytest.mark.parametrize("rig", SERIAL, indirect=True, ids=[s[0] for s in SERIAL])
async def test_nak_busy_full_and_silence_become_delivery_states(rig: Any) -> None:
    tx, proto, link = rig
    for mode, state in (("nak", "nak"), ("busy", "busy"), ("full", "busy"), ("silent", "")):
        tx.mode = mode
        result = await proto.deliver(Page(12, 3), link, Steps())
        assert result.state == (state or "no_answer"), (mode, result)
        assert result.detail or result.state == "nak"
    tx.mode = "ok"
    assert (await proto.deliver(Page(13, 1), link, Steps())).delivered


@pytest.mark.parametrize("rig", [SERIAL[0]], indirect=True, ids=["lrs-t74"])
async def test_t74_without_a_completion_report_stays_acknowledged(rig: Any) -> None:
    tx, proto, link = rig
    tx.mode = "no_report"
    result = await proto.deliver(Page(5, 1), link, Steps())
    assert result == Delivery("acknowledged", "no completion report")


UNPLUG = [*SERIAL, ("jtech", {"capcode_prefix": "010"})]


@pytest.mark.parametrize("rig", UNPLUG, indirect=True, ids=[s[0] for s in UNPLUG])
async def test_unplug_and_replug_mid_service(rig: Any, tmp_path: Path) -> None:
    tx, proto, link = rig
    tx.unplug()
    assert await _until(lambda: not link.connected)
    with pytest.raises(PortUnavailable):
        await proto.deliver(Page(9, 1), link, Steps())
    tx.replug()
    assert await link.wait_connected(5)
    assert (await proto.deliver(Page(9, 1), link, Steps())).delivered
    assert [p.pager for p in await tx.wait_pages(1)] == [9]


async def test_jtech_and_lrs_never_answer_so_written_is_done(tmp_path: Path) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [("jtech", {"capcode_prefix": "010"}), ("lrs", {})]
    for name, options in cases:
        tx = PtyTransmitter(tmp_path / name, name, **options)
        tx.plug()
        proto = make_protocol(name, **options)
        link = make_transport(proto, str(tmp_path / name))
        await link.start()
        try:
            assert await link.wait_connected(5)
            steps = Steps()
            assert await proto.deliver(Page(21, 1), link, steps) == Delivery("written")
            assert steps.seen == ["written"] and await tx.wait_pages(1) == [Page(21, 1)]
        finally:
            await link.stop()
            tx.close()


async def test_a_jtech_port_opens_with_rts_cts_at_1200_baud(tmp_path: Path) -> None:
    tx = PtyTransmitter(tmp_path / "j", "jtech")
    tx.plug()
    proto = make_protocol("jtech")
    port = SerialPort(str(tmp_path / "j"), 1200, settings=proto.serial_settings())
    link = SerialLink(port, proto.answers())
    await link.start()
    try:
        assert await link.wait_connected(5)
        await link.write(proto.encode(Page(3)))
        assert await tx.wait_pages(1) == [Page(3)]
    finally:
        await link.stop()
        tx.close()


# ---- rps-http against a loopback HTTP box ----------------------------------------------------


@pytest.fixture
async def rps() -> AsyncIterator[HttpTransmitter]:
    box = HttpTransmitter()
    await box.start()
    yield box
    await box.stop()


async def test_rps_http_states_and_errors(rps: HttpTransmitter) -> None:
    proto = make_protocol("rps-http", restaurant_id=1, system_id=2, ack_timeout=0.5)
    link = make_transport(proto, rps.url)
    await link.start()
    try:
        assert await link.wait_connected(5)
        steps = Steps()
        assert await proto.deliver(Page(7, 1), link, steps) == Delivery("acknowledged")
        assert steps.seen == ["written", "acknowledged"] and rps.pages == [Page(7, 1)]
        assert rps.queries[0]["restaurant_id"] == "1"
        for mode, state in (("nak", "nak"), ("busy", "busy"), ("full", "busy"), ("silent", "")):
            rps.mode = mode
            result = await proto.deliver(Page(8, 1), link, Steps())
            assert result.state == (state or "no_answer"), (mode, result)
    finally:
        await link.stop()


async def test_rps_http_box_gone_and_back(rps: HttpTransmitter) -> None:
    proto = make_protocol("rps-http", ack_timeout=0.5)
    link = make_transport(proto, rps.url)
    await link.start()
    try:
        assert await link.wait_connected(5)
        port = rps.port
        await rps.stop()
        with pytest.raises(PortUnavailable):
            await proto.deliver(Page(3, 1), link, Steps())
        assert not link.connected
        await rps.start(port)
        assert await link.wait_connected(5)
        assert (await proto.deliver(Page(3, 1), link, Steps())).delivered
    finally:
        await link.stop()


async def _until(check: Any) -> bool:
    import asyncio

    for _ in range(250):
        if check():
            return True
        await asyncio.sleep(0.02)
    return False
