"""`lrs`: the 15-byte Long Range Systems paging telegram (docs/pagers.md, shared/spec/pagers.md).

Source: the open-source Restaurant Paging Service (github.com/baycom/rps,
`generate_lrs_paging_code`). Byte for byte:

    0-2  AA AA AA       preamble
    3-4  FC 2D          sync
    5    restaurant id  0-255
    6    system id << 4 | pager bits 8-11
    7    pager bits 0-7
    8-12 00 00 00 00 00
    13   alert type     0-255
    14   sum of bytes 0-13 mod 255
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, ClassVar

from pydantic import Field

from floorlink.daemon.plugins import Options, Plugin
from floorlink.drivers.pagers.base import CommandProtocol, FrameError, NoAnswers, Page

PREAMBLE = b"\xaa\xaa\xaa"
SYNC = b"\xfc\x2d"
HEAD = PREAMBLE + SYNC
FRAME_LEN = 15
MAX_BUFFER = 4 * FRAME_LEN


def checksum(body: bytes) -> int:
    return sum(body) % 255


class LrsOptions(Options):
    restaurant_id: Annotated[int, Field(ge=0, le=255)] = 0
    system_id: Annotated[int, Field(ge=0, le=15)] = 0


@dataclass(frozen=True)
class LrsProtocol(CommandProtocol):
    """Writes the telegram; the radio board keys it on air and never answers (written = done)."""

    acks: ClassVar[bool] = False
    restaurant_id: int = 0
    system_id: int = 0
    name: str = "lrs"

    def __post_init__(self) -> None:
        if not 0 <= self.restaurant_id <= 255:
            raise ValueError("lrs restaurant_id must be 0-255")
        if not 0 <= self.system_id <= 15:
            raise ValueError("lrs system_id must be 0-15")

    def encode(self, page: Page) -> bytes:
        if not 1 <= page.pager <= 4095:
            raise ValueError(f"pager number must be 1-4095 (0 pages every pager), got {page.pager}")
        if not 0 <= page.alert <= 255:
            raise ValueError(f"alert type must be 0-255, got {page.alert}")
        body = HEAD + bytes(
            [
                self.restaurant_id,
                (self.system_id << 4) | (page.pager >> 8),
                page.pager & 0xFF,
                0, 0, 0, 0, 0,
                page.alert,
            ]
        )  # fmt: skip
        return body + bytes([checksum(body)])

    def decoder(self) -> LrsDecoder:
        return LrsDecoder(self)

    def answers(self) -> NoAnswers:
        return NoAnswers()


def _make(options: LrsOptions) -> LrsProtocol:
    return LrsProtocol(options.restaurant_id, options.system_id)


PLUGIN = Plugin("lrs", LrsOptions, _make, "the 15-byte LRS on-air telegram (an ESP32/SX127x board)")


def decode(frame: bytes) -> tuple[int, int, Page]:
    """(restaurant id, system id, page) of one whole frame, or FrameError."""
    if len(frame) != FRAME_LEN:
        raise FrameError(f"an lrs frame is {FRAME_LEN} bytes, got {len(frame)}", frame)
    if not frame.startswith(HEAD):
        raise FrameError("no lrs preamble and sync", frame)
    if frame[14] != checksum(frame[:14]):
        raise FrameError(f"bad checksum (expected {checksum(frame[:14]):02x})", frame)
    if frame[8:13] != bytes(5):
        raise FrameError("bytes 8-12 must be zero", frame)
    pager = ((frame[6] & 0x0F) << 8) | frame[7]
    return frame[5], frame[6] >> 4, Page(pager, frame[13])


@dataclass
class LrsDecoder:
    """Splits a byte stream into frames: resyncs on the preamble, skips noise and bad frames."""

    protocol: LrsProtocol
    garbage: int = 0
    bad_frames: int = 0
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Page]:
        self._buf += data
        pages: list[Page] = []
        while True:
            start = self._buf.find(HEAD)
            if start < 0:
                keep = len(HEAD) - 1  # a head may be split across reads
                drop = max(0, len(self._buf) - keep)
                self.garbage += drop
                del self._buf[:drop]
                break
            if start:
                self.garbage += start
                del self._buf[:start]
            if len(self._buf) < FRAME_LEN:
                break
            frame = bytes(self._buf[:FRAME_LEN])
            try:
                _restaurant, _system, page = decode(frame)
            except FrameError:
                self.bad_frames += 1
                del self._buf[:1]  # resync past this false start
                continue
            del self._buf[:FRAME_LEN]
            pages.append(page)
        if len(self._buf) > MAX_BUFFER:
            self.garbage += len(self._buf) - MAX_BUFFER
            del self._buf[: len(self._buf) - MAX_BUFFER]
        return pages
