"""Receipt-capture test parts: real ESC/POS bytes from python-escpos in three vendor layouts, a
fake network printer that records what it gets and answers status requests, and configs."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from escpos.printer import Dummy
from PIL import Image

logging.getLogger("escpos").setLevel(logging.ERROR)

# ---- three layouts, differing as vendors do ---------------------------------------------------

#: "Bistro": "Table 12", "Check #1042", qty-first item lines, course headings on kitchen tickets.
BISTRO: dict[str, Any] = {
    "kinds": {
        "void": "^\\*+ VOID",
        "receipt": "^PAID",
        "check": "^GUEST CHECK",
        "kitchen": "^KITCHEN",
    },
    "check": "Check #(\\d+)",
    "table": "^Table (\\w+)",
    "server": "Server: (\\S+)",
    "guests": "Guests: (\\d+)",
    "course": "^-- (\\w+) --",
    "courses": {"STARTERS": "apps", "MAINS": "entrees", "SWEETS": "dessert"},
    "item": "^(?P<qty>\\d+) +(?P<name>.+?) +(?P<price>\\d+\\.\\d\\d)$",
    "subtotal": "^Subtotal +(\\S+)",
    "total": "^Total +(\\S+)",
    "tip": "^Tip +(\\S+)",
    "ignore": ["^\\*\\* REPRINT \\*\\*$", "^Printed "],
}

#: "Counter": "TBL: 12" and "CHK 1042" on one line, "x2" after the item name, "AMOUNT DUE".
COUNTER: dict[str, Any] = {
    "kinds": {
        "void": "VOIDED",
        "receipt": "THANK YOU",
        "check": "AMOUNT DUE",
        "kitchen": "\\*KDS\\*",
    },
    "check": "CHK (?P<check>\\d+)",
    "table": "TBL: ?(?P<table>\\w+)",
    "server": "SRV (\\w+)",
    "item": "^(?P<name>[A-Z][A-Z ]+?) x(?P<qty>\\d+) +\\$(?P<price>[\\d.]+)$",
    "total": "^(?:AMOUNT DUE|TOTAL PAID) +\\$([\\d.,]+)",
    "tip": "^GRATUITY +\\$([\\d.]+)",
    "default_course": "entrees",
}

#: "Trattoria": the table at the bottom ("Tavolo 12"), "Conto N. 1042", decimal commas, EUR.
TRATTORIA: dict[str, Any] = {
    "kinds": {
        "void": "ANNULLATO",
        "receipt": "PAGATO",
        "check": "PRECONTO",
        "kitchen": "COMANDA",
    },
    "check": "Conto N\\. ?(\\d+)",
    "table": "^Tavolo (\\w+)$",
    "guests": "Coperti (\\d+)",
    "course": "^Uscita: (\\w+)",
    "courses": {"antipasti": "apps", "secondi": "entrees", "dolci": "dessert"},
    "item": "^(?!TOTALE|Mancia)(?P<name>\\w[\\w ]*?) +(?P<price>\\d+,\\d\\d) EUR$",
    "total": "^TOTALE +(\\S+) EUR",
    "tip": "^Mancia +(\\S+) EUR",
    "decimal_comma": True,
}

LAYOUTS: dict[str, dict[str, Any]] = {"bistro": BISTRO, "counter": COUNTER, "trattoria": TRATTORIA}

DISHES = {
    "apps": [("Burrata", "14.00"), ("Calamari", "16.50")],
    "entrees": [("Ribeye", "42.00"), ("Risotto", "28.00")],
    "dessert": [("Tiramisu", "11.00")],
}


def logo() -> Image.Image:
    img = Image.new("1", (64, 24), 1)
    for x in range(0, 64, 3):
        for y in range(24):
            if (x + y) % 5 == 0:
                img.putpixel((x, y), 0)
    return img


@dataclass
class Check:
    number: str
    table: str
    guests: int = 2
    server: str = "ana"
    items: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)

    def total(self) -> str:
        cents = sum(
            round(float(price) * 100) * qty
            for lines in self.items.values()
            for _, price, qty in lines
        )
        return f"{cents / 100:.2f}"


def render(layout: str, kind: str, check: Check, course: str | None = None, **kw: Any) -> bytes:
    """One printed document as a POS printing library would send it."""
    p = Dummy()
    p.hw("INIT")
    if kind in ("check", "receipt") and kw.get("with_logo", True):
        p.image(logo(), impl=kw.get("image_impl", "bitImageRaster"))
    if layout == "bistro":
        _bistro(p, kind, check, course, **kw)
    elif layout == "counter":
        _counter(p, kind, check, course, **kw)
    else:
        _trattoria(p, kind, check, course, **kw)
    p.cut()
    return bytes(p.output)


def _lines(check: Check, course: str | None) -> list[tuple[str, str, int]]:
    if course is not None:
        return check.items.get(course, [])
    return [line for lines in check.items.values() for line in lines]


def _bistro(p: Dummy, kind: str, check: Check, course: str | None, **kw: Any) -> None:
    p.set(align="center", bold=True, double_height=True)
    p.textln(
        {"kitchen": "KITCHEN", "check": "GUEST CHECK", "receipt": "PAID", "void": "*** VOID"}[kind]
    )
    p.set()
    p.charcode("CP858")
    p.textln("Café Zoë — Hauptstraße 5")
    if kw.get("reprint"):
        p.textln("** REPRINT **")
    p.textln(f"Printed {kw.get('printed', '19:31')}")
    p.textln(f"Table {check.table}")
    p.textln(f"Check #{check.number}   Server: {check.server}   Guests: {check.guests}")
    names = {"apps": "STARTERS", "entrees": "MAINS", "dessert": "SWEETS"}
    if kind == "kitchen" and course is not None:
        p.textln(f"-- {names[course]} --")
    for name, price, qty in _lines(check, course if kind == "kitchen" else None):
        p.textln(f"{qty} {name}  {price}")
    if kind in ("check", "receipt"):
        p.textln(f"Subtotal  {check.total()}")
        p.textln(f"Total  {check.total()}")
    if kind == "receipt":
        p.textln("Tip  8.00")
        p.barcode(f"{int(check.number):012d}", "EAN13", check=False)
        p.qr(f"https://pay.example/{check.number}", native=True)


def _counter(p: Dummy, kind: str, check: Check, course: str | None, **kw: Any) -> None:
    p.charcode("CP437")
    if kind == "kitchen":
        p.textln("*KDS* FIRE")
    p.textln(f"TBL:{check.table}  CHK {check.number}  SRV {check.server.upper()}")
    for name, price, qty in _lines(check, course if kind == "kitchen" else None):
        p.textln(f"{name.upper()} x{qty}  ${price}")
    if kind == "check":
        p.textln(f"AMOUNT DUE  ${check.total()}")
    if kind == "receipt":
        p.textln(f"TOTAL PAID  ${check.total()}")
        p.textln("GRATUITY  $5.00")
        p.textln("THANK YOU")
    if kind == "void":
        p.textln("** VOIDED BY MGR **")


def _trattoria(p: Dummy, kind: str, check: Check, course: str | None, **kw: Any) -> None:
    p.charcode("CP1252")
    title = {"kitchen": "COMANDA", "check": "PRECONTO", "receipt": "PAGATO", "void": "ANNULLATO"}
    p.textln(f"{title[kind]} — Conto N. {check.number}")
    p.textln(f"Coperti {check.guests}")
    names = {"apps": "antipasti", "entrees": "secondi", "dessert": "dolci"}
    if kind == "kitchen" and course is not None:
        p.textln(f"Uscita: {names[course]}")
    for name, price, qty in _lines(check, course if kind == "kitchen" else None):
        for _ in range(qty):
            p.textln(f"{name}  {price.replace('.', ',')} EUR")
    if kind in ("check", "receipt"):
        p.textln(f"TOTALE  {check.total().replace('.', ',')} EUR")
    if kind == "receipt":
        p.textln("Mancia  2,50 EUR")
    p.textln(f"Tavolo {check.table}")


def sample_check(number: str = "1042", table: str = "12") -> Check:
    return Check(
        number,
        table,
        guests=3,
        items={
            "apps": [("Burrata", "14.00", 1), ("Calamari", "16.50", 2)],
            "entrees": [("Ribeye", "42.00", 2), ("Risotto", "28.00", 1)],
        },
    )


def layout_toml(layout: dict[str, Any], prefix: str = "inputs.layout") -> str:
    """A layout as the TOML an integrator writes under [[inputs]]."""
    import json

    lines = [f"[{prefix}]"]
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in layout.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    for key, value in tables:
        lines.append(f"[{prefix}.{key}]")
        lines.extend(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value.items())
    return "\n".join(lines) + "\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- a network printer ------------------------------------------------------------------------


class FakePrinter:
    """A raw-9100 printer on a free loopback port: records every byte of every job, answers
    DLE EOT n (real-time status) with one byte, sends its automatic status back when GS a
    enables it, and can hang up mid-job."""

    STATUS: ClassVar[dict[int, int]] = {1: 0x16, 2: 0x12, 3: 0x12, 4: 0x12}
    ASB = b"\x14\x00\x00\x0f"  # automatic status back: four bytes, sent unasked

    def __init__(self) -> None:
        self.jobs: list[bytearray] = []
        self.port = 0
        self.hang_up_after: int | None = None
        self.changed = asyncio.Condition()
        self._server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._job, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    @property
    def received(self) -> bytes:
        return b"".join(bytes(j) for j in self.jobs)

    async def _job(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        job = bytearray()
        self.jobs.append(job)
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                if self.hang_up_after is not None and len(job) + len(data) > self.hang_up_after:
                    job += data[: self.hang_up_after - len(job)]
                    writer.transport.abort()
                    break
                start = len(job)
                job += data
                for i in range(max(0, start - 2), len(job) - 2):
                    if job[i] == 0x10 and job[i + 1] == 0x04 and job[i + 2] in self.STATUS:
                        writer.write(bytes([self.STATUS[job[i + 2]]]))
                    if job[i] == 0x1D and job[i + 1] == 0x61 and job[i + 2]:  # GS a n: ASB on
                        writer.write(self.ASB)
                await writer.drain()
                async with self.changed:
                    self.changed.notify_all()
        except ConnectionError:
            pass
        finally:
            writer.close()
            async with self.changed:
                self.changed.notify_all()

    async def wait_bytes(self, n: int, timeout: float = 10) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: len(self.received) >= n), timeout)


async def print_job(port: int, data: bytes, chunk: int = 1024) -> None:
    """A POS printing one job: connect, send, close, as raw-9100 clients do."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for i in range(0, len(data), chunk):
        writer.write(data[i : i + chunk])
        await writer.drain()
    writer.write_eof()
    await reader.read()  # the box closes after the printer has
    writer.close()


async def until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def receipt_input(printer_port: int, **extra: Any) -> str:
    options = {"idle_split_ms": 300, **extra}
    lines = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in options.items())
    return (
        '[[inputs]]\nkind = "receipt-tcp"\nname = "kitchen"\nprinter_host = "127.0.0.1"\n'
        f'printer_port = {printer_port}\nlisten_host = "127.0.0.1"\nlisten_port = 0\n{lines}\n'
        + layout_toml(BISTRO)
    )
