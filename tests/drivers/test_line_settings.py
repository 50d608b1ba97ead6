"""The line settings TAP and JTECH need, tested as far as a pty can honestly show them.

A Linux pty has no UART: it keeps CRTSCTS but forces CS8 and no parity (and refuses parity
outright on pyserial's second reconfigure, with EINVAL), and it has no CTS wire. So:
- JTECH: the port is opened 1200 baud 8N1 with CRTSCTS, read back with termios from a second
  descriptor of the same tty; and a write waits for the line to take it (the pty's back-pressure,
  through the same drain a real UART's CTS holds up) and loses nothing. Gating on the CTS wire
  itself is the kernel's and the adapter's job, and is not exercised here.
- TAP: the port asks the kernel for 7 data bits, even parity, 1 stop bit (each tcsetattr call,
  recorded by a spy that still calls the real one); the pty then refuses, and the port says so.
  Its frames are 7-bit clean, so they survive a 7E1 line. (docs/pagers.md, "What the tests
  cannot show".)"""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import serial.serialposix

from floorlink.drivers.pagers import Page
from floorlink.drivers.pagers.jtech import JtechProtocol
from floorlink.drivers.pagers.tap import LOGIN, TapProtocol
from floorlink.drivers.serial_port import SerialPort

CFLAG = 2  # termios.tcgetattr's list: iflag, oflag, cflag, lflag, ispeed, ospeed, cc


@pytest.fixture
def pty() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    name = os.ttyname(slave)
    yield master, name
    for fd in (master, slave):
        with contextlib.suppress(OSError):
            os.close(fd)


@contextlib.asynccontextmanager
async def opened(name: str, baud: int, settings: dict[str, Any]) -> AsyncIterator[SerialPort]:
    port = SerialPort(name, baud, settings=settings)
    await port.start()
    try:
        yield port
    finally:
        await port.stop()


async def until(predicate: Callable[[], Any], timeout: float = 10) -> None:
    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def read_back(name: str) -> list[Any]:
    """The tty's settings as the kernel holds them, from a second descriptor."""
    fd = os.open(name, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        return termios.tcgetattr(fd)
    finally:
        os.close(fd)


async def test_jtech_opens_1200_8n1_with_hardware_flow_control(pty: tuple[int, str]) -> None:
    master, name = pty
    protocol = JtechProtocol()
    async with opened(name, protocol.default_baud, protocol.serial_settings()) as port:
        assert await port.wait_connected(5)
        attrs = read_back(name)
        cflag = attrs[CFLAG]
        assert cflag & termios.CRTSCTS  # RTS/CTS on: the kernel gates output on CTS
        assert cflag & termios.CSIZE == termios.CS8 and not cflag & termios.PARENB
        assert not cflag & termios.CSTOPB  # 1 stop bit
        assert attrs[4] == attrs[5] == termios.B1200
        assert not attrs[0] & (termios.IXON | termios.IXOFF)  # no XON/XOFF besides
        frame = protocol.encode(Page(1))
        await port.write(frame)
        got = b""
        while len(got) < len(frame):
            got += await asyncio.get_running_loop().run_in_executor(None, os.read, master, 64)
        assert got == frame


async def test_a_write_waits_for_the_line_and_loses_nothing(pty: tuple[int, str]) -> None:
    """The transmitter side reads nothing at first: a write bigger than any tty buffer cannot
    finish until it does, and every byte arrives, in order."""
    master, name = pty
    protocol = JtechProtocol()
    data = b"".join(protocol.encode(Page(n % 9999 + 1)) for n in range(25_000))  # 325 kB
    async with opened(name, protocol.default_baud, protocol.serial_settings()) as port:
        assert await port.wait_connected(5)
        writing = asyncio.create_task(port.write(data))
        loop = asyncio.get_running_loop()
        first = await loop.run_in_executor(None, os.read, master, 65536)
        assert not writing.done()  # the write was still waiting when the line took its first
        got = bytearray(first)
        while len(got) < len(data):
            got += await loop.run_in_executor(None, os.read, master, 65536)
        await writing
        assert bytes(got) == data


@pytest.fixture
def tcsetattr_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[Any]]:
    """Every tcsetattr pyserial makes, recorded; the real call still happens."""
    calls: list[list[Any]] = []
    real = termios.tcsetattr

    def spy(fd: int, when: int, attrs: list[Any]) -> None:
        calls.append(list(attrs))
        real(fd, when, attrs)

    monkeypatch.setattr(serial.serialposix.termios, "tcsetattr", spy)
    return calls


async def test_tap_asks_the_line_for_7_data_bits_even_parity(
    pty: tuple[int, str], tcsetattr_calls: list[list[Any]]
) -> None:
    _, name = pty
    protocol = TapProtocol()
    assert protocol.line == "7E1"
    async with opened(name, protocol.default_baud, protocol.serial_settings()) as port:
        await until(lambda: port.last_error is not None)  # the pty refuses parity: EINVAL
        assert not port.connected and "Invalid argument" in str(port.last_error)
    assert tcsetattr_calls
    for attrs in tcsetattr_calls:
        cflag = attrs[CFLAG]
        assert cflag & termios.CSIZE == termios.CS7
        assert cflag & termios.PARENB and not cflag & termios.PARODD  # even
        assert not cflag & termios.CSTOPB  # 1 stop bit
        assert not cflag & termios.CRTSCTS
        assert not attrs[0] & (termios.IXON | termios.IXOFF)  # XON/XOFF would eat DC1/DC3


async def test_tap_on_an_8_bit_link_opens(
    pty: tuple[int, str], tcsetattr_calls: list[list[Any]]
) -> None:
    _, name = pty
    protocol = TapProtocol(line="8N1")
    async with opened(name, protocol.default_baud, protocol.serial_settings()) as port:
        assert await port.wait_connected(5)
    assert all(a[CFLAG] & termios.CSIZE == termios.CS8 for a in tcsetattr_calls)


def test_tap_frames_are_7_bit_clean() -> None:
    """Nothing TAP sends needs the eighth bit, whatever the guest's name holds."""
    protocol = TapProtocol(message="Señor Zoë: table ready")
    frames = [
        b"\r",
        LOGIN + b"\r",
        protocol.encode(Page(1234)),
        protocol.encode(Page(7, text="Crème brûlée — ready")),
    ]
    assert all(b < 0x80 for frame in frames for b in frame)
