"""`tap`: the Telocator Alphanumeric Protocol, version 1.8, as paging encoders speak it.

Source (docs/pagers.md): "Telocator Alphanumeric Protocol (TAP) Version 1.8", February 4, 1997,
sections 3.0 (call delivery sequence), 5.0-6.0 (checksum), 7.0 (timing), appendix A (response
codes). 7 data bits, even parity, 1 stop bit. One page is one session:

    host                                   paging terminal
    CR (up to 3 times, 2 s apart)          ID=
    ESC PG1 [password] CR                  [text CR] CR ACK CR   (or CR NAK CR: again;
                                                                  CR ESC EOT CR: go away)
                                           ESC [ p CR            (go ahead)
    STX id CR message CR ETX ccc CR        [211 text CR] CR ACK CR  (or NAK: resend; RS: refused)
    EOT CR                                 [text CR] CR ESC EOT CR (goodbye)

The checksum `ccc`: the sum of the 7-bit values from STX to ETX inclusive, its low 12 bits as
three nibbles, each added to `0` (0x30).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, SecretStr

from floorlink.daemon.plugins import Options, Plugin
from floorlink.drivers.pagers.base import (
    Ack,
    Answer,
    Busy,
    Delivery,
    FrameError,
    Link,
    Nak,
    Page,
    Prompt,
    Report,
)

CR, STX, ETX, EOT = b"\r", b"\x02", b"\x03", b"\x04"
ACK, NAK, ESC, RS = b"\x06", b"\x15", b"\x1b", b"\x1e"
LOGIN = ESC + b"PG1"
GO_AHEAD = ESC + b"[p"
BYE = ESC + EOT
MAX_BLOCK = 250
MAX_LINE = 256
BLOCK_RE = re.compile(rb"\x02([^\r]{1,16})\r([^\r]*)\r\x03([0-?]{3})\r")


def checksum(block: bytes) -> bytes:
    """The 3 checksum characters of the bytes from STX to ETX inclusive."""
    total = sum(b & 0x7F for b in block) & 0xFFF
    return bytes([0x30 + (total >> 8), 0x30 + ((total >> 4) & 0xF), 0x30 + (total & 0xF)])


def block(pager_id: str, message: str) -> bytes:
    body = STX + pager_id.encode("ascii") + CR + message.encode("ascii") + CR + ETX
    return body + checksum(body) + CR


class TapOptions(Options):
    password: SecretStr | None = Field(None, description="up to 6 characters, if the terminal asks")
    message: Annotated[str, Field(max_length=200)] = "Your table is ready"
    pager_id_digits: Annotated[int, Field(ge=1, le=10)] = 1
    line: Literal["7E1", "8N1"] = Field(
        "7E1", description="TAP's 7 data bits, even parity; 8N1 only for links that carry 8 bits"
    )
    id_timeout: Annotated[float, Field(gt=0, le=30)] = 2.0
    ack_timeout: Annotated[float, Field(gt=0, le=30)] = 10.0


@dataclass(frozen=True)
class TapProtocol:
    transport: ClassVar[Literal["serial", "http"]] = "serial"
    default_baud: ClassVar[int] = 9600
    password: str = ""
    message: str = "Your table is ready"
    pager_id_digits: int = 1
    line: str = "7E1"
    id_timeout: float = 2.0
    ack_timeout: float = 10.0
    name: str = field(default="tap", kw_only=True)

    def serial_settings(self) -> dict[str, Any]:
        if self.line == "8N1":
            return {"bytesize": 8, "parity": "N", "stopbits": 1, "xonxoff": False}
        return {"bytesize": 7, "parity": "E", "stopbits": 1, "xonxoff": False}

    def pager_id(self, pager: int) -> str:
        return str(pager).zfill(self.pager_id_digits)

    def encode(self, page: Page) -> bytes:
        """The page's message block (the login around it is `deliver`'s)."""
        if page.pager < 1:
            raise ValueError(f"pager number must be 1 or more, got {page.pager}")
        text = "".join(c if " " <= c <= "~" else " " for c in (page.text or self.message))
        data = block(self.pager_id(page.pager), text[: MAX_BLOCK - 30])
        return data

    def answers(self) -> TapAnswers:
        return TapAnswers()

    def decoder(self) -> TapBlocks:
        return TapBlocks()

    async def deliver(self, page: Page, link: Link, report: Report) -> Delivery:
        frame = self.encode(page)
        link.discard()
        # 1. wake the terminal: CR until it says ID=
        for _ in range(3):
            await link.write(CR)
            got = await _wait(link, self.id_timeout, "id")
            if isinstance(got, Prompt):
                break
        else:
            return Delivery("no_answer", "the paging terminal never said ID=")
        # 2. log in (automatic mode); a NAK means send it again
        for _ in range(3):
            await link.write(LOGIN + self.password.encode("ascii") + CR)
            got = await _wait(link, self.ack_timeout, "login")
            if isinstance(got, Ack):
                break
            if isinstance(got, Prompt) and got.kind == "bye":
                return Delivery("busy", "the paging terminal refused the login (ESC EOT)")
            if got is None:
                return Delivery("no_answer", "no answer to the login")
        else:
            return Delivery("nak", "the paging terminal refused the login three times")
        if not isinstance(await _wait(link, self.ack_timeout, "go"), Prompt):
            return Delivery("no_answer", "no go-ahead (ESC [ p) after the login")
        # 3. the block; NAK: send it again (up to 3 times); RS: refused
        result = Delivery("nak", "the block was not acknowledged after 3 tries")
        for _ in range(3):
            await link.write(frame)
            await report("written", "")
            got = await _wait(link, self.ack_timeout, "block")
            if isinstance(got, Ack):
                await report("acknowledged", "")
                result = Delivery("acknowledged")
                break
            if isinstance(got, Nak) and got.reason.startswith("RS"):
                result = Delivery("nak", got.reason)
                break
            if isinstance(got, Prompt) and got.kind == "bye":
                result = Delivery("busy", "the paging terminal hung up (ESC EOT)")
                break
            if got is None:
                result = Delivery("no_answer", "no answer to the page block")
                break
        # 4. log out, politely; the outcome does not depend on the goodbye
        await link.write(EOT + CR)
        await _wait(link, self.id_timeout, "bye")
        return result


async def _wait(link: Link, timeout: float, step: str) -> Answer | None:
    """The answer that ends this step of the session (others are skipped), or None."""
    wanted: dict[str, tuple[type, ...]] = {
        "id": (Prompt,),
        "login": (Ack, Nak, Prompt),
        "go": (Prompt,),
        "block": (Ack, Nak, Busy, Prompt),
        "bye": (Prompt,),
    }
    kinds = {"id": ("id",), "go": ("go",), "bye": ("bye",)}
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        got = await link.answer(left)
        if got is None:
            return None
        if not isinstance(got, wanted[step]):
            continue
        if isinstance(got, Prompt):
            if step in kinds and got.kind not in kinds[step]:
                continue
            if step in ("login", "block") and got.kind != "bye":
                continue
        return got
    return None


@dataclass
class TapAnswers:
    """The paging terminal's answers, CR-delimited (except `ID=`): ACK, NAK, RS, ESC [ p,
    ESC EOT; response-code lines (`211 Page sent`) become the reason of what follows."""

    garbage: int = 0
    last_text: str = ""
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Answer]:
        out: list[Answer] = []
        for byte in data:
            b = byte & 0x7F  # 7 data bits: a parity bit that leaked through is dropped
            if b in (0x0D, 0x0A):
                a = self._line(bytes(self._buf))
                self._buf.clear()
                if a is not None:
                    out.append(a)
                continue
            self._buf.append(b)
            if self._buf.endswith(b"ID="):
                self.garbage += len(self._buf) - 3
                self._buf.clear()
                out.append(Prompt("id"))
            elif len(self._buf) > MAX_LINE:
                self.garbage += len(self._buf)
                self._buf.clear()
        return out

    def _line(self, line: bytes) -> Answer | None:
        if not line:
            return None
        text, self.last_text = self.last_text, ""
        if line == ACK:
            return Ack()
        if line == NAK:
            return Nak(f"NAK{': ' + text if text else ''}")
        if line == RS:
            return Nak(f"RS: refused{': ' + text if text else ''}")
        if line == GO_AHEAD:
            return Prompt("go")
        if line.endswith(BYE):
            return Prompt("bye", text)
        if re.fullmatch(rb"\d{3}[ -~]*", line):
            self.last_text = line.decode("ascii")
            return None
        self.garbage += len(line)
        return None


@dataclass
class TapBlocks:
    """The terminal's side: message blocks in (checksum checked), pages out."""

    garbage: int = 0
    bad_blocks: int = 0
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Page]:
        return [p for p, ok in self.feed_blocks(data) if ok and p is not None]

    def feed_blocks(self, data: bytes) -> list[tuple[Page | None, bool]]:
        """Each completed block: (its page or None, checksum right?)."""
        out: list[tuple[Page | None, bool]] = []
        for byte in data:
            if byte == STX[0]:
                self.garbage += len(self._buf)
                self._buf = bytearray(STX)
            elif self._buf:
                self._buf.append(byte)
                if byte == CR[0] and self._buf.count(CR) == 3:
                    out.append(self._block(bytes(self._buf)))
                    self._buf.clear()
                elif len(self._buf) > MAX_BLOCK + 10:
                    self.garbage += len(self._buf)
                    self._buf.clear()
        return out

    def _block(self, data: bytes) -> tuple[Page | None, bool]:
        m = BLOCK_RE.fullmatch(data)
        if m is None:
            self.bad_blocks += 1
            return None, False
        body = data[: data.index(ETX) + 1]
        if checksum(body) != m.group(3):
            self.bad_blocks += 1
            return None, False
        pid = m.group(1).decode("ascii")
        return Page(int(pid) if pid.isdigit() else 0, 1, m.group(2).decode("ascii")), True


def decode(data: bytes) -> Page:
    """The page of one whole block, or FrameError."""
    got = TapBlocks().feed_blocks(data)
    if len(got) != 1 or not got[0][1] or got[0][0] is None:
        raise FrameError("not a TAP block with a right checksum", data)
    return got[0][0]


class TapTerminal:
    """A simulated TAP paging terminal: the session of section 3.0, with its refusals.
    `mode` (or the next entry of `script`, one per session): ok; nak (every block NAKed);
    busy / full (login refused with ESC EOT); silent (never says ID=)."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.script: list[str] = []
        self.blocks = TapBlocks()
        self._session: str | None = None  # the mode of the session under way
        self._wakes = 0
        self._line = bytearray()
        self._block = bytearray()

    def feed(self, data: bytes) -> tuple[list[Page], bytes]:
        pages: list[Page] = []
        out = bytearray()
        for byte in data:
            if self._block or (byte == STX[0] and self._session not in (None, "silent")):
                self._block.append(byte)
                if byte == CR[0] and self._block.count(CR) == 3:
                    page, ok = self.blocks._block(bytes(self._block))
                    self._block.clear()
                    if self._session == "nak" or not ok or page is None:
                        out += CR + NAK + CR
                    else:
                        pages.append(page)
                        out += b"211 Page(s) Sent" + CR + CR + ACK + CR
                elif len(self._block) > MAX_BLOCK + 10:
                    self._block.clear()
                continue
            self._line.append(byte)
            if byte != CR[0]:
                del self._line[:-MAX_LINE]
                continue
            line, self._line = bytes(self._line), bytearray()
            out += self._answer(line)
        return pages, bytes(out)

    def _answer(self, line: bytes) -> bytes:
        if line == CR:
            if self._session is None:
                self._session = self.script.pop(0) if self.script else self.mode
                self._wakes = 0
            if self._session == "silent":
                self._wakes += 1
                if self._wakes >= 3:  # the host gives up after three
                    self._session = None
                return b""
            return b"ID="
        if self._session in (None, "silent"):
            return b""
        if line.startswith(LOGIN):
            if self._session in ("busy", "full"):
                self._session = None
                return b"112 Maximum Entries Exceeded" + CR + CR + BYE + CR
            return b"110 1.8" + CR + CR + ACK + CR + GO_AHEAD + CR
        if line == EOT + CR:
            self._session = None
            return b"115 Goodbye" + CR + CR + BYE + CR
        return b""


def _make(o: TapOptions) -> TapProtocol:
    pw = o.password.get_secret_value() if o.password else ""
    return TapProtocol(pw, o.message, o.pager_id_digits, o.line, o.id_timeout, o.ack_timeout)


PLUGIN: Plugin[Any] = Plugin("tap", TapOptions, _make, "TAP 1.8 (7E1), login, block, logout")
