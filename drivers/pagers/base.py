"""What every pager protocol provides: frames as values, encode, a decoder that survives noise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class FrameError(ValueError):
    """Bytes that are not a valid frame; the message shows them in hex."""

    def __init__(self, reason: str, data: bytes) -> None:
        super().__init__(f"{reason}: {data.hex(' ')}")
        self.data = data


@dataclass(frozen=True, slots=True)
class Page:
    """Buzz one guest pager."""

    pager: int
    alert: int = 1


class PagerProtocol(Protocol):
    """A transmitter protocol: one module, registered by name in `drivers.pagers.PROTOCOLS`."""

    @property
    def name(self) -> str: ...

    def encode(self, page: Page) -> bytes: ...

    def decoder(self) -> Decoder: ...


class Decoder(Protocol):
    """Feed bytes as they come; get the pages whose frames completed. Never raises on noise."""

    garbage: int

    def feed(self, data: bytes) -> list[Page]: ...
