"""`sms`: text paging through a USB GSM modem, with Hayes AT commands (3GPP TS 27.005 text mode),
so it works while the restaurant's internet is down.

Sources (docs/pagers.md): 3GPP TS 27.005 (AT+CMGF, AT+CMGS, AT+CMGL, AT+CMGD, +CMS ERROR codes),
3GPP TS 27.007 (+CME ERROR codes). One page is:

    AT+CMGF=1 CR                 -> OK                  (text mode)
    AT+CMGS="+15035550123" CR    -> CR LF "> "          (the modem asks for the text)
    <text> Ctrl-Z                 -> +CMGS: <mr> ... OK  (the network took it: acknowledged)
                                  or +CMS ERROR: <n>

Replies are read with `AT+CMGL="REC UNREAD"` (each `+CMGL: <index>,<stat>,"<number>",...` line
followed by the text) and deleted with `AT+CMGD=<index>`. Numbers are normalised to E.164 from
the site's country with `phonenumbers`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

import phonenumbers
from pydantic import Field, field_validator

from floorlink.daemon.plugins import Options, Plugin
from floorlink.drivers.pagers.base import (
    Ack,
    Answer,
    Busy,
    Delivery,
    Incoming,
    LineBuffer,
    Link,
    Nak,
    Page,
    Prompt,
    Report,
)

CR, CTRL_Z = b"\r", b"\x1a"
MAX_TEXT = 160
#: +CMS ERROR codes (TS 27.005 3.2.5) worth naming; these mean "try again later"
CMS_ERRORS = {
    300: "ME failure",
    302: "operation not allowed",
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
    310: "SIM not inserted",
    311: "SIM PIN required",
    313: "SIM failure",
    314: "SIM busy",
    320: "memory failure",
    321: "invalid memory index",
    322: "memory full",
    330: "SMSC address unknown",
    331: "no network service",
    332: "network timeout",
    500: "unknown error",
}
CMS_BUSY = frozenset({314, 331, 332})
#: +CME ERROR codes (TS 27.007 9.2) a modem gives before it can send
CME_ERRORS = {
    3: "operation not allowed",
    10: "SIM not inserted",
    11: "SIM PIN required",
    13: "SIM failure",
    14: "SIM busy",
    30: "no network service",
}
CME_BUSY = frozenset({14, 30})
CMGL_RE = re.compile(r'\+CMGL:\s*(\d+),"[^"]*","([^"]*)"')
CMGS_RE = re.compile(r'AT\+CMGS="([^"]+)"')


def normalise(number: str, country: str) -> str:
    """E.164 (`+15035550123`) of a number as a host typed it, or ValueError."""
    try:
        parsed = phonenumbers.parse(number, country)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"not a valid phone number for {country}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _gsm_text(text: str) -> str:
    """Plain printable ASCII (the GSM default alphabet's safe part), at most one SMS long."""
    return "".join(c if " " <= c <= "~" else " " for c in text)[:MAX_TEXT]


class SmsOptions(Options):
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "US"
    site_name: Annotated[str, Field(min_length=1, max_length=40)] = "Your restaurant"
    template: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)] = (
        "{site}: your table is ready. Reply 1 if you are on your way, 9 to cancel."
    )
    command_timeout: Annotated[float, Field(gt=0, le=60)] = 5.0
    ack_timeout: Annotated[float, Field(gt=0, le=120)] = 30.0
    poll_seconds: Annotated[float, Field(gt=0, le=600)] = 15.0

    @field_validator("template")
    @classmethod
    def _template(cls, v: str) -> str:
        try:
            v.format(site="", pager=0)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"the template may use {{site}} and {{pager}} only ({exc})") from None
        return v


@dataclass(frozen=True)
class SmsProtocol:
    transport: ClassVar[Literal["serial", "http"]] = "serial"
    default_baud: ClassVar[int] = 115200
    country: str = "US"
    site_name: str = "Your restaurant"
    template: str = "{site}: your table is ready."
    command_timeout: float = 5.0
    ack_timeout: float = 30.0
    poll_seconds: float = 15.0
    name: str = field(default="sms", kw_only=True)

    def serial_settings(self) -> dict[str, Any]:
        return {}

    def normalise(self, number: str) -> str:
        return normalise(number, self.country)

    def text(self, page: Page) -> str:
        body = page.text or self.template.format(site=self.site_name, pager=page.pager)
        return _gsm_text(body)

    def encode(self, page: Page) -> bytes:
        """Everything the page writes after text mode is on (the prompt comes between)."""
        if not page.to:
            raise ValueError("the party left no phone number to text")
        number = normalise(page.to, self.country)
        return f'AT+CMGS="{number}"'.encode() + CR + self.text(page).encode("ascii") + CTRL_Z

    def answers(self) -> SmsAnswers:
        return SmsAnswers()

    def decoder(self) -> SmsCommands:
        return SmsCommands()

    async def _command(self, link: Link, line: bytes) -> Delivery | None:
        """One AT command answered OK (None), or how it failed."""
        await link.write(line + CR)
        got = await _wait(link, self.command_timeout, (Prompt, Nak, Busy), "ok")
        if got is None:
            return Delivery("no_answer", "the modem does not answer")
        return _failed(got)

    async def deliver(self, page: Page, link: Link, report: Report) -> Delivery:
        frame = self.encode(page)
        head, _, rest = frame.partition(CR)
        link.discard()
        if (failed := await self._command(link, b"AT+CMGF=1")) is not None:
            return failed
        await link.write(head + CR)
        got = await _wait(link, self.command_timeout, (Prompt, Nak, Busy), "text")
        if got is None:
            return Delivery("no_answer", "the modem never asked for the text")
        if (failed := _failed(got)) is not None:
            return failed
        await link.write(rest)
        await report("written", "")
        got = await _wait(link, self.ack_timeout, (Ack, Nak, Busy), "")
        if got is None:
            return Delivery("no_answer", f"no +CMGS within {self.ack_timeout:g} s")
        if (failed := _failed(got)) is not None:
            return failed
        ref = got.ref if isinstance(got, Ack) else None
        await report("acknowledged", f"message reference {ref}")
        return Delivery("acknowledged", f"message reference {ref}")

    async def replies(self, link: Link) -> list[Incoming]:
        """The unread texts, each deleted from the SIM once read."""
        link.discard()
        if await self._command(link, b"AT+CMGF=1") is not None:
            return []
        await link.write(b'AT+CMGL="REC UNREAD"' + CR)
        got: list[Incoming] = []
        deadline = time.monotonic() + self.command_timeout
        while (left := deadline - time.monotonic()) > 0:
            a = await link.answer(left)
            if a is None or isinstance(a, Nak | Busy):
                break
            if isinstance(a, Incoming):
                got.append(a)
            elif isinstance(a, Prompt) and a.kind == "ok":
                break
        for message in got:
            await self._command(link, f"AT+CMGD={message.index}".encode())
        return got


def _failed(got: Answer) -> Delivery | None:
    if isinstance(got, Nak):
        return Delivery("nak", got.reason)
    if isinstance(got, Busy):
        return Delivery("busy", got.reason)
    return None


async def _wait(link: Link, timeout: float, kinds: tuple[type, ...], prompt: str) -> Answer | None:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        got = await link.answer(left)
        if got is None:
            return None
        if isinstance(got, Prompt) and got.kind != prompt:
            continue
        if isinstance(got, kinds):
            return got
    return None


@dataclass
class SmsAnswers:
    """The modem's lines: OK, ERROR, +CMS/+CME ERROR, +CMGS, +CMGL and its text, `> `."""

    garbage: int = 0
    _lines: LineBuffer = field(default_factory=LineBuffer)
    _listing: tuple[int, str] | None = None

    def feed(self, data: bytes) -> list[Answer]:
        out: list[Answer] = []
        for byte in data:
            for raw in self._lines.feed(bytes([byte])):
                a = self._line(raw.decode("ascii", "replace").strip())
                if a is not None:
                    out.append(a)
            if bytes(self._lines._buf) == b"> ":  # the prompt has no line end
                self._lines._buf.clear()
                out.append(Prompt("text"))
        self.garbage += self._lines.garbage
        self._lines.garbage = 0
        return out

    def _line(self, line: str) -> Answer | None:
        if self._listing is not None:
            index, sender = self._listing
            self._listing = None
            return Incoming(index, sender, line)
        if line == "OK":
            return Prompt("ok")
        if line == "ERROR":
            return Nak("ERROR")
        if m := re.fullmatch(r"\+CMS ERROR:\s*(\d+)", line):
            n = int(m.group(1))
            why = f"+CMS ERROR: {n} ({CMS_ERRORS.get(n, 'unknown')})"
            return Busy(why) if n in CMS_BUSY else Nak(why)
        if m := re.fullmatch(r"\+CME ERROR:\s*(\d+)", line):
            n = int(m.group(1))
            why = f"+CME ERROR: {n} ({CME_ERRORS.get(n, 'unknown')})"
            return Busy(why) if n in CME_BUSY else Nak(why)
        if m := re.fullmatch(r"\+CMGS:\s*(\d+)", line):
            return Ack(int(m.group(1)))
        if m := CMGL_RE.match(line):
            self._listing = (int(m.group(1)), m.group(2))
            return None
        if line.startswith(("AT", "+CMTI:", "RING", "+CREG")):
            return Prompt("notice", line) if line.startswith("+CMTI") else None
        self.garbage += len(line)
        return None


@dataclass
class SmsCommands:
    """The modem's side: the texts sent (`AT+CMGS="..."` then the text up to Ctrl-Z)."""

    garbage: int = 0
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Page]:
        pages: list[Page] = []
        for byte in data:
            self._buf.append(byte)
            if byte == CTRL_Z[0]:
                m = re.search(rb'AT\+CMGS="([^"]+)"\r(.*)\x1a$', bytes(self._buf), re.S)
                if m:
                    pages.append(
                        Page(0, 1, m.group(2).decode("ascii", "replace"), m.group(1).decode())
                    )
                else:
                    self.garbage += len(self._buf)
                self._buf.clear()
            elif len(self._buf) > 512:
                self.garbage += len(self._buf)
                self._buf.clear()
        return pages


class Modem:
    """A simulated GSM modem: text mode, sending with a prompt, an inbox read with AT+CMGL.
    `mode` (or the next entry of `script`, one per text): ok; nak (+CMS ERROR: 305); busy
    (+CMS ERROR: 332 network timeout); full (+CMS ERROR: 331 no network service); no_sim
    (+CME ERROR: 10 / +CMS ERROR: 310); silent (no answer at all)."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.script: list[str] = []
        self.inbox: dict[int, tuple[str, str, bool]] = {}  # index -> (number, text, read)
        self.mr = 0
        self._line = bytearray()
        self._text: bytearray | None = None
        self._number = ""
        self._send_mode = "ok"

    def receive(self, number: str, text: str) -> bytes:
        """A guest's reply arrives: stored, and announced with +CMTI."""
        index = max(self.inbox, default=0) + 1
        self.inbox[index] = (number, text, False)
        return f'\r\n+CMTI: "SM",{index}\r\n'.encode()

    def feed(self, data: bytes) -> tuple[list[Page], bytes]:
        pages: list[Page] = []
        out = bytearray()
        for byte in data:
            if self._text is not None:
                if byte == CTRL_Z[0]:
                    text, self._text = self._text.decode("ascii", "replace"), None
                    out += self._sent(text, pages)
                else:
                    self._text.append(byte)
                continue
            if byte != CR[0]:
                self._line.append(byte)
                del self._line[:-512]
                continue
            line, self._line = self._line.decode("ascii", "replace").strip(), bytearray()
            out += self._command(line)
        return pages, bytes(out)

    def _command(self, line: str) -> bytes:
        mode = self.mode
        if mode == "silent" or not line:
            return b""
        if line == "AT":
            return b"\r\nOK\r\n"
        if line == "AT+CMGF=1":
            return b"\r\n+CME ERROR: 10\r\n" if mode == "no_sim" else b"\r\nOK\r\n"
        if m := CMGS_RE.fullmatch(line):
            self._send_mode = self.script.pop(0) if self.script else mode
            if self._send_mode == "no_sim":
                return b"\r\n+CMS ERROR: 310\r\n"
            self._number, self._text = m.group(1), bytearray()
            return b"\r\n> "
        if line == 'AT+CMGL="REC UNREAD"':
            out = bytearray()
            for index, (number, text, read) in sorted(self.inbox.items()):
                if not read:
                    stamp = '"26/11/25,19:02:11-32"'
                    out += f'\r\n+CMGL: {index},"REC UNREAD","{number}",,{stamp}'.encode()
                    out += f"\r\n{text}".encode()
                    self.inbox[index] = (number, text, True)
            return bytes(out) + b"\r\n\r\nOK\r\n"
        if m := re.fullmatch(r"AT\+CMGD=(\d+)", line):
            self.inbox.pop(int(m.group(1)), None)
            return b"\r\nOK\r\n"
        return b"\r\nERROR\r\n"

    def _sent(self, text: str, pages: list[Page]) -> bytes:
        mode = self._send_mode
        if mode == "silent":
            return b""
        if mode == "nak":
            return b"\r\n+CMS ERROR: 305\r\n"
        if mode == "busy":
            return b"\r\n+CMS ERROR: 332\r\n"
        if mode == "full":
            return b"\r\n+CMS ERROR: 331\r\n"
        self.mr = (self.mr + 1) % 256
        pages.append(Page(0, 1, text, self._number))
        return f"\r\n+CMGS: {self.mr}\r\n\r\nOK\r\n".encode()


def _make(o: SmsOptions) -> SmsProtocol:
    return SmsProtocol(
        o.country,
        o.site_name,
        o.template,
        o.command_timeout,
        o.ack_timeout,
        o.poll_seconds,
    )


PLUGIN: Plugin[Any] = Plugin(
    "sms", SmsOptions, _make, "text paging through a GSM modem (AT)", texts=True
)
