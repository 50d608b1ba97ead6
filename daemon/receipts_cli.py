"""`floorlink receipts capture|test`: the integrator's tools for a new POS layout.

`capture` runs the configured receipt inputs as the daemon would (printing goes through as usual)
but submits nothing: it writes each print job's raw bytes to a file. `test` replays such a file
through the decoder and the layout's patterns and prints the events it would emit, with the
pattern that matched each field, so patterns can be tuned without a service running.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from floorlink.daemon.component import Component
from floorlink.daemon.config import Config, ConfigError, InputCfg, load_config
from floorlink.daemon.engine import Committed
from floorlink.daemon.receipts import ReceiptOptions, plan_for_test
from floorlink.daemon.sources import SourceContext, make_source
from floorlink.drivers.escpos import Decoder

RECEIPT_KINDS = ("receipt-tcp", "receipt-serial")


class CaptureOnly(Exception):
    """`receipts capture` submits nothing."""


def _entries(config: Config, name: str | None) -> list[InputCfg]:
    found = [e for e in config.inputs if e.kind in RECEIPT_KINDS]
    if name is not None:
        found = [e for e in found if e.name == name]
    return found


def _load(path: str) -> Config | None:
    try:
        return load_config(Path(path))
    except ConfigError as exc:
        print(f"floorlink: {path}: {exc.errors[0]}", file=sys.stderr)
        return None


def replay(
    data: bytes, options: ReceiptOptions, tables: tuple[str, ...], out: TextIO | None = None
) -> int:
    """Print what each document in `data` would become; the number of events."""
    out = out or sys.stdout
    decoder = Decoder(options.code_page)
    docs = decoder.feed(data)
    last = decoder.flush()
    if last is not None:
        docs.append(last)
    seen: dict[str, str] = {}
    events = 0
    for n, doc in enumerate(docs, 1):
        ended = "cut" if doc.cut else "end of capture"
        rec, planned, error = plan_for_test(doc, options.layout, tables, seen)
        kind = rec.kind if rec is not None and rec.kind else "not recognised"
        print(f"document {n}: {doc.raw_bytes} bytes, ended by {ended}: {kind}", file=out)
        for line in doc.lines:
            if line.strip():
                print(f"  | {line}", file=out)
        if rec is not None:
            for field, pattern in rec.matched.items():
                value = (
                    f"{len(rec.items)} item(s)" if field == "items" else rec.fields.get(field, "")
                )
                if field == "kind":
                    value = rec.kind or ""
                print(f"  {field:<9}= {value:<20} matched by /{pattern}/", file=out)
            for problem in rec.problems:
                print(f"  ! {problem}", file=out)
        if error is not None:
            print(f"  REJECTED: {error}", file=out)
        for p in planned:
            events += 1
            print(f"  -> {p.type} id={p.eid} {json.dumps(p.data, sort_keys=True)}", file=out)
    print(f"{len(docs)} document(s), {events} event(s)", file=out)
    return events


def cmd_test(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    entries = _entries(config, args.input)
    if not entries:
        print("floorlink: no receipt input (receipt-tcp / receipt-serial) in the config")
        return 2
    options = entries[0].options()
    assert isinstance(options, ReceiptOptions)
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"floorlink: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    replay(data, options, config.table_ids)
    return 0


def _refuse(inp: Any) -> asyncio.Future[Committed]:
    fut: asyncio.Future[Committed] = asyncio.get_running_loop().create_future()
    fut.set_exception(CaptureOnly("capture only: not submitted"))
    return fut


async def capture(
    config: Config, directory: Path, name: str | None, documents: int | None
) -> list[Component]:
    """Run the receipt inputs with capture on until `documents` were seen (None: forever)."""
    from floorlink.daemon.engine import now_ms

    context = SourceContext(_refuse, ZoneInfo(config.site.timezone), config.table_ids, now_ms)
    sources: list[Any] = []
    for entry in _entries(config, name):
        options = entry.options()
        assert isinstance(options, ReceiptOptions)
        options = options.model_copy(update={"capture_dir": str(directory)})
        sources.append(make_source(entry.kind, entry.name, options, context))
    tasks = []
    for s in sources:
        await s.start()
        tasks.append(asyncio.create_task(s.run()))
        print(f"capturing {s.source} into {directory}", flush=True)
    try:
        while documents is None or sum(s.pipeline.documents for s in sources) < documents:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for s in sources:
            await s.stop()
            await asyncio.to_thread(s.pipeline.close)
    return sources


def cmd_capture(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    if not _entries(config, args.input):
        print("floorlink: no receipt input (receipt-tcp / receipt-serial) in the config")
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(capture(config, Path(args.dir), args.input, args.documents))
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("receipts", help="receipt capture tools: record print jobs, test patterns")
    rsub = p.add_subparsers(dest="receipts_command", required=True)
    c = rsub.add_parser("capture", help="pass print jobs through and record their raw bytes")
    c.add_argument("--config", required=True)
    c.add_argument("--dir", default="receipts-capture", help="where the files go")
    c.add_argument("--input", help="only this [[inputs]] name")
    c.add_argument("--documents", type=int, help="stop after this many documents")
    c.set_defaults(fn=cmd_capture)
    t = rsub.add_parser("test", help="replay a capture: the events it would emit, and why")
    t.add_argument("--config", required=True)
    t.add_argument("--input", help="the [[inputs]] name whose layout to use (default: first)")
    t.add_argument("file")
    t.set_defaults(fn=cmd_test)
