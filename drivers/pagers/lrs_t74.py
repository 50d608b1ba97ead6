"""`lrs-t74`: the LRS T74C232 (RS-232) / T74USB (USB CDC serial) ASCII command set.

Sources (docs/pagers.md): paging-systems.readme.io, pages "Transmitters" (scratchpad), "Command
Response", "AM Page Modes", "Alert Overrides", "Pager Message Formats". One command a line:

    coaster:  CPG,<pager>,<mode, 2 hex digits>,<power>             answered CPG,<pager>
    alpha:    PAGE,<pager>,<system>,<text>[\\f<alert overrides>]    answered PPG,<pager>

and, once keyed on air, `SCPG,<pager>` (coaster) or `SPPG,<pager>` (pager). All of it is
documented: the coaster command by LRS's "Anti Theft Mode" page (`CPG,45,8A,3`: pager 45, mode
8A, power level 3; a coaster takes the system id the transmitter is programmed with). In the
message part
the transmitter reads the two characters `\\f` as a form feed: what follows are alert override
codes (`C54` cancels the pager's last page). Page mode = volume (0x40 loud, 0x00 quiet) + value
(0x01 flash 30 s ... 0x07 glow 15 times, 0x0A flash 1 s).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from floorlink.daemon.plugins import Options, Plugin
from floorlink.drivers.pagers.base import (
    Ack,
    Answer,
    Busy,
    CommandProtocol,
    LineBuffer,
    Nak,
    Page,
    Transmitted,
)

EOL = b"\r"
MAX_TEXT = 200
COASTER_RE = re.compile(rb"CPG,(\d{1,4}),([0-9A-F]{2}),(\d)")
ALPHA_RE = re.compile(rb"PAGE,(\d{1,4}),(\d{1,3}),(.*)")
ANSWER_RE = re.compile(r"(S?)(C|P)PG,(\d{1,4})")


class T74Options(Options):
    system_id: Annotated[int, Field(ge=0, le=200)] = Field(
        0, description="system (restaurant) id of alpha pages; coasters use the transmitter's own"
    )
    kind: Literal["coaster", "alpha"] = "coaster"
    page_mode: Annotated[int, Field(ge=0, le=0x4F)] | None = Field(
        None, description="coaster page mode; default: the page's alert type ([pager] alert_type)"
    )
    power: Annotated[int, Field(ge=0, le=5)] = 3
    message: Annotated[str, Field(max_length=MAX_TEXT)] = "Your table is ready!"
    alert_override: Annotated[str, Field(pattern=r"^([A-Za-z]\d{0,3})*$")] = ""
    ack_timeout: Annotated[float, Field(gt=0, le=30)] = 2.0
    done_timeout: Annotated[float, Field(gt=0, le=120)] = 15.0


def _clean(text: str) -> str:
    """Printable ASCII without the command separator's surprises (no CR/LF, no backslash)."""
    return "".join(c if " " <= c <= "~" and c != "\\" else " " for c in text)[:MAX_TEXT]


@dataclass(frozen=True)
class T74Protocol(CommandProtocol):
    completes: ClassVar[bool] = True
    system_id: int = 0
    kind: str = "coaster"
    page_mode: int | None = None
    power: int = 3
    message: str = "Your table is ready!"
    alert_override: str = ""
    name: str = field(default="lrs-t74", kw_only=True)

    def encode(self, page: Page) -> bytes:
        if not 1 <= page.pager <= 9999:
            raise ValueError(f"pager number must be 1-9999, got {page.pager}")
        if self.kind == "coaster":
            mode = page.alert if self.page_mode is None else self.page_mode
            if not 0 <= mode <= 0x4F:
                raise ValueError(f"a coaster page mode is 00-4F (hex), got {mode:X}")
            cmd = f"CPG,{page.pager},{mode:02X},{self.power}"
        else:
            text = _clean(page.text or self.message)
            override = f"\\f{self.alert_override}" if self.alert_override else ""
            cmd = f"PAGE,{page.pager},{self.system_id},{text}{override}"
        return cmd.encode("ascii") + EOL

    def cancel(self, pager: int) -> bytes:
        """Cancel the pager's last page: the `C54` alert override on an empty alpha page."""
        return f"PAGE,{pager},{self.system_id},\\fC54".encode("ascii") + EOL

    def answers(self) -> T74Answers:
        return T74Answers()

    def decoder(self) -> T74Commands:
        return T74Commands()


@dataclass
class T74Answers:
    """`CPG,#` / `PPG,#` -> Ack, `SCPG,#` / `SPPG,#` -> Transmitted, `ERR...` -> Nak,
    `BUSY...` -> Busy; any other line is noise."""

    garbage: int = 0
    _lines: LineBuffer = field(default_factory=LineBuffer)

    def feed(self, data: bytes) -> list[Answer]:
        out: list[Answer] = []
        for raw in self._lines.feed(data):
            line = raw.decode("ascii", "replace").strip()
            m = ANSWER_RE.search(line)
            if m and m.end() == len(line):
                n = int(m.group(3))
                out.append(Transmitted(n) if m.group(1) else Ack(n))
            elif line.startswith(("ERR", "NAK", "INVALID")):
                out.append(Nak(line))
            elif line.startswith("BUSY"):
                out.append(Busy(line))
            else:
                self.garbage += len(raw)
        self.garbage += self._lines.garbage
        self._lines.garbage = 0
        return out


@dataclass
class T74Commands:
    """The transmitter's side: command lines in, pages out (for the simulator and tests)."""

    garbage: int = 0
    _lines: LineBuffer = field(default_factory=LineBuffer)

    def feed(self, data: bytes) -> list[Page]:
        pages: list[Page] = []
        for raw in self._lines.feed(data):
            start = raw.find(b"CPG") if b"CPG" in raw else max(0, raw.find(b"PAGE"))
            line = raw[start:]
            self.garbage += start  # line noise before the command
            if m := COASTER_RE.fullmatch(line):
                pages.append(Page(int(m.group(1)), int(m.group(2), 16)))
            elif m := ALPHA_RE.fullmatch(line):
                text = m.group(3).decode("ascii", "replace").split("\\f")[0]
                pages.append(Page(int(m.group(1)), 1, text))
            else:
                self.garbage += len(raw)
        self.garbage += self._lines.garbage
        self._lines.garbage = 0
        return pages


def _make(o: T74Options) -> T74Protocol:
    return T74Protocol(
        o.system_id,
        o.kind,
        o.page_mode,
        o.power,
        o.message,
        o.alert_override,
        ack_timeout=o.ack_timeout,
        done_timeout=o.done_timeout,
    )


def reply(page: Page, mode: str) -> list[bytes]:
    """What the simulated T74 answers to one page: [ack, completion report], or an error."""
    if mode == "nak":
        return [b"ERR,INVALID PAGER" + EOL]
    if mode in ("busy", "full"):
        return [b"BUSY" + EOL]
    if mode == "silent":
        return []
    kind = b"P" if page.text else b"C"
    ack = kind + b"PG," + str(page.pager).encode() + EOL
    if mode == "no_report":
        return [ack]
    return [ack, b"S" + kind + b"PG," + str(page.pager).encode() + EOL]


PLUGIN: Plugin[Any] = Plugin(
    "lrs-t74", T74Options, _make, "LRS T74C232 / T74USB ASCII commands with CPG/SCPG answers"
)
