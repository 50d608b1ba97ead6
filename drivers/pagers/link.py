"""A serial transmitter as a `Link`: the reconnecting port for writes, the protocol's answer
decoder fed from the port's reads."""

from __future__ import annotations

from collections.abc import Callable

from floorlink.drivers.pagers.base import Answer, AnswerDecoder, AnswerQueue
from floorlink.drivers.serial_port import SerialPort


class SerialLink:
    """Port and link in one: what the pager sender talks to for a serial protocol."""

    def __init__(self, port: SerialPort, decoder: AnswerDecoder) -> None:
        self.port = port
        self._answers = AnswerQueue(decoder)
        port.on_data = self._answers.feed

    @property
    def decoder(self) -> AnswerDecoder:
        return self._answers.decoder

    @property
    def connected(self) -> bool:
        return self.port.connected

    @property
    def last_error(self) -> str | None:
        return self.port.last_error

    @property
    def url(self) -> str:
        return self.port.url

    def on_state_change(self, callback: Callable[[bool], None]) -> None:
        self.port.on_state_change(callback)

    async def start(self) -> None:
        await self.port.start()

    async def stop(self) -> None:
        await self.port.stop()

    async def wait_connected(self, timeout: float | None = None) -> bool:
        return await self.port.wait_connected(timeout)

    async def write(self, data: bytes) -> None:
        await self.port.write(data)

    async def answer(self, timeout: float) -> Answer | None:
        return await self._answers.get(timeout)

    def discard(self) -> None:
        self._answers.clear()
