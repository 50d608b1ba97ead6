"""Pager codecs byte for byte, and the reconnecting serial port over real ptys."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

import pytest

from floorlink.drivers import serial_port
from floorlink.drivers.pagers import PROTOCOLS, FrameError, Page, make_protocol
from floorlink.drivers.pagers.lrs import decode
from floorlink.drivers.pty_transmitter import PtyTransmitter
from floorlink.drivers.serial_port import PortUnavailable, SerialPort


class PagerCodecContract:
    """Every protocol: its worked example, a round trip, noise survival. Subclass per protocol."""

    protocol = ""
    options: ClassVar[dict[str, int]] = {}
    example: tuple[Page, str] = (Page(1), "")

    def test_worked_example(self) -> None:
        page, hex_bytes = self.example
        assert make_protocol(self.protocol, **self.options).encode(page).hex(" ") == hex_bytes

    def test_round_trip_through_noise_byte_by_byte(self) -> None:
        proto = make_protocol(self.protocol, **self.options)
        stream = b"\x00\xff\xaa" + proto.encode(Page(4095, 3)) + b"noise" + proto.encode(Page(1))
        decoder = proto.decoder()
        pages = [p for byte in stream for p in decoder.feed(bytes([byte]))]
        assert pages == [Page(4095, 3), Page(1, 1)]
        assert decoder.garbage > 0

    def test_registered(self) -> None:
        assert self.protocol in PROTOCOLS


class TestLrs(PagerCodecContract):
    protocol = "lrs"
    options: ClassVar[dict[str, int]] = {"restaurant_id": 1, "system_id": 2}
    example = (Page(7, 1), "aa aa aa fc 2d 01 20 07 00 00 00 00 00 01 53")

    def test_pager_range(self) -> None:
        proto = make_protocol("lrs")
        for bad in (0, 4096):
            with pytest.raises(ValueError):
                proto.encode(Page(bad))
        assert proto.encode(Page(0x123))[6:8] == bytes([0x01, 0x23])

    def test_bad_checksum_shows_the_bytes(self) -> None:
        frame = bytearray(make_protocol("lrs").encode(Page(7)))
        frame[14] ^= 0xFF
        with pytest.raises(FrameError, match="aa aa aa fc 2d"):
            decode(bytes(frame))
        decoder = make_protocol("lrs").decoder()
        assert decoder.feed(bytes(frame)) == []


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serial_port, "BACKOFF_START_S", 0.02)
    monkeypatch.setattr(serial_port, "BACKOFF_MAX_S", 0.1)


async def test_write_reaches_the_transmitter(tmp_path: Path) -> None:
    tx = PtyTransmitter(tmp_path / "pager")
    tx.plug()
    port = SerialPort(str(tmp_path / "pager"), 9600)
    await port.start()
    assert await port.wait_connected(5)
    await port.write(make_protocol("lrs").encode(Page(12)))
    assert await tx.wait_pages(1) == [Page(12)]
    await port.stop()
    tx.close()


async def test_unplug_and_replug(tmp_path: Path) -> None:
    tx = PtyTransmitter(tmp_path / "pager")
    tx.plug()
    states: list[bool] = []
    port = SerialPort(str(tmp_path / "pager"), 9600)
    port.on_state_change(states.append)
    await port.start()
    assert await port.wait_connected(5)
    tx.unplug()
    for _ in range(100):
        if not port.connected:
            break
        await asyncio.sleep(0.02)
    assert not port.connected
    with pytest.raises(PortUnavailable):
        await port.write(b"x")
    tx.replug()
    assert await port.wait_connected(5)
    await port.write(make_protocol("lrs").encode(Page(9)))
    assert await tx.wait_pages(1) == [Page(9)]
    assert states[:3] == [True, False, True] and port.reconnects >= 1
    await port.stop()
    tx.close()


async def test_a_port_missing_at_start_is_opened_when_it_appears(tmp_path: Path) -> None:
    port = SerialPort(str(tmp_path / "later"), 9600)
    await port.start()
    assert not await port.wait_connected(0.2)
    tx = PtyTransmitter(tmp_path / "later")
    tx.plug()
    assert await port.wait_connected(5)
    await port.stop()
    tx.close()


async def test_a_url_without_a_file_descriptor_works_through_the_executor() -> None:
    """`loop://` (like `rfc2217://`) has no fileno: the executor-backed link carries it."""
    got = bytearray()
    port = SerialPort("loop://", 9600, on_data=got.extend, name="loop")
    await port.start()
    assert await port.wait_connected(5)
    frame = make_protocol("lrs").encode(Page(42))
    await port.write(frame)
    for _ in range(100):
        if len(got) >= len(frame):
            break
        await asyncio.sleep(0.02)
    assert bytes(got) == frame
    await port.stop()
