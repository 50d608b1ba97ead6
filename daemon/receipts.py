"""Receipt capture, the part behind the pass-through: bytes seen -> documents -> check events.

The proxy (receipt_tcp) and the tap (receipt_serial) forward every byte first and then `offer` a
copy here. `offer` never blocks and never raises: it appends to a queue bounded in bytes, and when
the parser is that far behind it drops the copy (counted) and the stream resyncs at its next cut.
The worker decodes (drivers/escpos), recognises (drivers/receipt_patterns) and submits events with
source `receipt:{name}` through the same engine as MQTT; it awaits nothing on the store, so a slow
or failing store only shows up in the documents' results. The last documents per source and what
they became are kept for the page (`recent`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import structlog
from pydantic import Field

from floorlink.daemon import metrics
from floorlink.daemon.core.reasons import RETRY_LATER
from floorlink.daemon.core.state import Input
from floorlink.daemon.engine import Committed, RejectInput
from floorlink.daemon.logs import Throttle
from floorlink.daemon.plugins import Options
from floorlink.daemon.sources import SourceContext
from floorlink.drivers.escpos import Decoder, Document
from floorlink.drivers.receipt_patterns import (
    Layout,
    NotAnEvent,
    Planned,
    Recognised,
    recognise,
    to_events,
)

log = structlog.get_logger(__name__)
_throttle = Throttle()


def warn(event: str, **fields: Any) -> None:
    """A warning about what a printer stream held, rate-limited per reason."""
    _throttle.warning(log, event, **fields)


#: A document with more unexplained bytes than this (and 1 in 50 of its bytes) is line noise.
NOISE_BYTES = 4
KEEP_CHECKS = 5000
REJECT_TYPE = "receipt.document"
CAPTURE_BACKLOG = 10_000
#: events the store could not take are submitted again, backing off to this, at most this many
RETRY_START_S, RETRY_MAX_S, MAX_RETRYING = 0.5, 30.0, 10_000
RESULTS = ("events", "unrecognised", "raster_only", "rejected", "dropped")


class ReceiptOptions(Options):
    """Options every receipt source takes beside its wiring."""

    layout: Layout
    idle_split_ms: Annotated[int, Field(ge=50, le=600_000)] = 2000
    code_page: Annotated[int, Field(ge=0, le=255)] = 0
    queue_bytes: Annotated[int, Field(ge=4096, le=256 * 1024 * 1024)] = 8 * 1024 * 1024
    keep_documents: Annotated[int, Field(ge=1, le=500)] = 20
    capture_dir: str | None = None


@dataclass(slots=True)
class Seen:
    """One document as the page shows it: what was printed and what it became."""

    at: int
    stream: str
    bytes: int
    result: str  # events | unrecognised | raster_only | rejected | dropped
    kind: str | None = None
    lines: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    matched: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "stream": self.stream,
            "bytes": self.bytes,
            "result": self.result,
            "kind": self.kind,
            "lines": list(self.lines),
            "fields": dict(self.fields),
            "matched": dict(self.matched),
            "events": [dict(e) for e in self.events],
            "error": self.error,
        }


@dataclass(slots=True)
class _Stream:
    decoder: Decoder
    last: float
    resync: bool = False
    capture: Any = None


def judge(doc: Document) -> str | None:
    """Why a document cannot be trusted (None: it can): cut short, or line noise."""
    if doc.truncated:
        return f"cut short: {doc.truncated}"
    if doc.noise > NOISE_BYTES and doc.noise * 50 > doc.raw_bytes:
        return f"line noise: {doc.noise} of {doc.raw_bytes} bytes are no ESC/POS command or text"
    return None


def _kept(doc: Document) -> bytes:
    """What a rejected document printed, kept with its rejection (the raw bytes are gone)."""
    return doc.text.encode("utf-8")[: 16 * 1024]


class ReceiptPipeline:
    """The parse side of one receipt source."""

    def __init__(
        self,
        source: str,
        options: ReceiptOptions,
        context: SourceContext,
        decoder_factory: Callable[[int], Decoder] = Decoder,
    ) -> None:
        self.source = source
        self.options = options
        self.context = context
        self.decoder_factory = decoder_factory
        self._queue: collections.deque[tuple[str, bytes | None, str | None]] = collections.deque()
        self._queued = 0
        self._gaps: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._streams: dict[str, _Stream] = {}
        self._checks: collections.OrderedDict[str, str] = collections.OrderedDict()
        self.recent_docs: collections.deque[Seen] = collections.deque(maxlen=options.keep_documents)
        self.counts: collections.Counter[str] = collections.Counter()
        self.dropped_bytes = 0
        self.capture_errors: collections.deque[str] = collections.deque(maxlen=100)
        self._capture_pool: ThreadPoolExecutor | None = None
        self._capture_pending = 0
        self._retrying = 0
        self._run = time.strftime("%Y%m%dT%H%M%S")
        self.idle = asyncio.Event()
        self.idle.set()
        for result in RESULTS:
            metrics.RECEIPT_DOCUMENTS.labels(source, result).inc(0)
        metrics.RECEIPT_DROPPED.labels(source).inc(0)

    # ---- the forwarding side calls these: O(1), never raise ----------------------------

    def offer(self, stream: str, data: bytes) -> None:
        try:
            if self._queued + len(data) > self.options.queue_bytes:
                self._gaps[stream] = self._gaps.get(stream, 0) + len(data)
                self.dropped_bytes += len(data)
                metrics.RECEIPT_DROPPED.labels(self.source).inc(len(data))
                return
            self._queue.append((stream, data, None))
            self._queued += len(data)
            self.idle.clear()
            self._wake.set()
        except Exception:  # pragma: no cover - nothing above should raise; never into printing
            log.exception("receipt offer failed", source=self.source)

    def end(self, stream: str, reason: str | None = None) -> None:
        """The stream ended (connection closed); `reason` if it ended abnormally."""
        try:
            self._queue.append((stream, None, reason or ""))
            self.idle.clear()
            self._wake.set()
        except Exception:  # pragma: no cover
            log.exception("receipt end failed", source=self.source)

    # ---- the worker ----------------------------------------------------------------------

    async def run(self) -> None:
        idle_s = self.options.idle_split_ms / 1000
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), idle_s / 4)
            self._wake.clear()
            while self._queue:
                stream, data, reason = self._queue.popleft()
                if data is not None:
                    self._queued -= len(data)
                self._step(stream, data, reason)
                await asyncio.sleep(0)  # let the forwarding side run between chunks
            now = time.monotonic()
            for stream, st in list(self._streams.items()):
                if now - st.last >= idle_s:
                    self._safe_flush(stream, st, None)
                    st.last = float("inf")  # flushed: nothing pending until new bytes
            if not self._queue:
                self.idle.set()

    def _state(self, stream: str) -> _Stream:
        st = self._streams.get(stream)
        if st is None:
            st = self._streams[stream] = _Stream(
                self.decoder_factory(self.options.code_page), time.monotonic()
            )
            if self.options.capture_dir:
                st.capture = self._open_capture(stream)
        return st

    def _step(self, stream: str, data: bytes | None, reason: str | None) -> None:
        st = self._state(stream)
        gap = self._gaps.pop(stream, 0)
        if gap:
            warn(
                "receipt parser behind: bytes forwarded but not parsed",
                source=self.source,
                stream=stream,
                bytes=gap,
            )
            self._safe_flush(stream, st, f"parser behind: {gap} bytes not parsed")
            st.resync = True
        if data is None:
            self._safe_flush(stream, st, reason or None)
            self._close_capture(st)
            del self._streams[stream]
            return
        st.last = time.monotonic()
        self._write_capture(st, data)
        try:
            docs = st.decoder.feed(data)
        except Exception as exc:
            log.error("receipt decoder failed; resyncing", source=self.source, error=repr(exc))
            self.counts["parser_errors"] += 1
            st.decoder = self.decoder_factory(self.options.code_page)
            st.resync = True
            return
        for doc in docs:
            self._document(stream, st, doc)

    def _safe_flush(self, stream: str, st: _Stream, reason: str | None) -> None:
        try:
            doc = st.decoder.flush(reason)
        except Exception as exc:
            log.error("receipt decoder failed; resyncing", source=self.source, error=repr(exc))
            self.counts["parser_errors"] += 1
            st.decoder = self.decoder_factory(self.options.code_page)
            return
        if doc is not None:
            self._document(stream, st, doc)

    def _document(self, stream: str, st: _Stream, doc: Document) -> None:
        if not (doc.has_text or doc.images or doc.noise or doc.barcodes or doc.qr_codes):
            return  # only commands (an init, a status poll, a bare cut): nothing was printed
        if st.resync:
            st.resync = not doc.cut
            self._record(Seen(self.context.clock(), stream, doc.raw_bytes, "dropped"), doc)
            self.recent_docs[-1].error = "skipped while resyncing after a gap in the stream"
            return
        try:
            self._decide(stream, doc)
        except Exception as exc:  # a bug in recognising one document must not stop the rest
            log.exception("receipt document failed", source=self.source)
            self.counts["parser_errors"] += 1
            seen = Seen(self.context.clock(), stream, doc.raw_bytes, "rejected")
            seen.error = f"internal error: {exc!r}"
            self._record(seen, doc)

    def _decide(self, stream: str, doc: Document) -> None:
        at = self.context.clock()
        seen = Seen(at, stream, doc.raw_bytes, "unrecognised")
        bad = judge(doc)
        if bad is not None:
            rec = recognise(doc, self.options.layout)
            seen.result, seen.error = "rejected", bad
            self._record(seen, doc)
            warn("receipt document rejected", source=self.source, stream=stream, error=bad)
            eid = f"{rec.digest[:32]}:rejected"
            self._submit(seen, RejectInput(self.source, eid, REJECT_TYPE, bad, payload=_kept(doc)))
            return
        if doc.raster_only:
            seen.result = "raster_only"
            seen.error = f"printed as {doc.images} image(s) with no text: nothing to read"
            self._record(seen, doc)
            log.info("raster-only receipt document", source=self.source, stream=stream)
            return
        rec = recognise(doc, self.options.layout)
        seen.kind, seen.fields, seen.matched = rec.kind, dict(rec.fields), dict(rec.matched)
        if rec.kind is None:
            self._record(seen, doc)
            return
        check = rec.fields.get("check", "")
        try:
            planned = to_events(
                rec, self.options.layout, self._checks.get(check), self.context.tables
            )
        except NotAnEvent as exc:
            seen.result, seen.error = "rejected", str(exc)
            self._record(seen, doc)
            warn("receipt document rejected", source=self.source, error=str(exc))
            eid = f"{rec.digest[:32]}:rejected"
            reject = RejectInput(self.source, eid, REJECT_TYPE, str(exc), payload=_kept(doc))
            self._submit(seen, reject)
            return
        self._remember(rec)
        seen.result = "events"
        self._record(seen, doc)
        for p in planned:
            self._submit(seen, Input(self.source, p.eid, p.type, at, p.data))

    def _remember(self, rec: Recognised) -> None:
        check, table = rec.fields.get("check"), rec.fields.get("table")
        if check and table:
            self._checks[check] = table
            self._checks.move_to_end(check)
            while len(self._checks) > KEEP_CHECKS:
                self._checks.popitem(last=False)

    def _record(self, seen: Seen, doc: Document) -> None:
        seen.lines = [ln for ln in doc.lines if ln.strip()][:60]
        self.recent_docs.append(seen)
        self.counts[seen.result] += 1
        metrics.RECEIPT_DOCUMENTS.labels(self.source, seen.result).inc()

    def _submit(self, seen: Seen, inp: Input | RejectInput) -> None:
        entry: dict[str, Any] = {"type": inp.type, "id": inp.eid, "result": "pending"}
        seen.events.append(entry)
        self._send(entry, inp, 0)

    def _send(self, entry: dict[str, Any], inp: Input | RejectInput, tries: int) -> None:
        """Submit; when the store could not take it (full disk, store down), submit the same
        event again later: its id comes from the document, so a retry is never a second event."""
        try:
            fut = self.context.submit(inp)
        except Exception as exc:
            self._retry(entry, inp, tries, str(exc))
            return

        def done(f: asyncio.Future[Committed]) -> None:
            if f.cancelled():
                entry["result"] = "cancelled"
            elif f.exception() is not None:
                self._retry(entry, inp, tries, str(f.exception()))
            else:
                outcome = f.result().outcome
                if outcome.result == "rejected" and outcome.reason in RETRY_LATER:
                    self._retry(entry, inp, tries, outcome.error or "store unavailable")
                    return
                entry["result"] = outcome.result
                entry.pop("retrying", None)
                if outcome.error:
                    entry["error"] = outcome.error

        fut.add_done_callback(done)

    def _retry(self, entry: dict[str, Any], inp: Input | RejectInput, tries: int, why: str) -> None:
        self.counts["store_errors"] += 1
        entry["result"], entry["error"] = "error", why
        if self._retrying >= MAX_RETRYING:
            warn("receipt event not stored and not retried: too many waiting", source=self.source)
            return
        entry["retrying"] = True
        self._retrying += 1
        delay = min(RETRY_START_S * 2**tries, RETRY_MAX_S)

        def again() -> None:
            self._retrying -= 1
            self._send(entry, inp, tries + 1)

        asyncio.get_running_loop().call_later(delay, again)

    # ---- capture: on its own thread, so a slow or full disk never holds the event loop --------

    def _open_capture(self, stream: str) -> Path | None:
        assert self.options.capture_dir is not None
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stream)
        name = f"{self.source.replace(':', '-')}-{self._run}-{safe}.bin"
        return Path(self.options.capture_dir) / name

    def _write_capture(self, st: _Stream, data: bytes) -> None:
        if st.capture is None:
            return
        if self._capture_pending >= CAPTURE_BACKLOG:
            self.capture_errors.append("capture behind: a chunk was not recorded")
            return
        if self._capture_pool is None:
            self._capture_pool = ThreadPoolExecutor(1, thread_name_prefix="floorlink-capture")
        self._capture_pending += 1
        fut = self._capture_pool.submit(self._append, st.capture, data)
        fut.add_done_callback(lambda _: self._capture_done())

    def _capture_done(self) -> None:
        self._capture_pending -= 1

    def _append(self, path: Path, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("ab") as f:
                f.write(data)
        except OSError as exc:  # a full disk costs the capture, never the printing
            self.capture_errors.append(str(exc))
            warn("capture write failed", source=self.source, error=str(exc))

    def _close_capture(self, st: _Stream) -> None:
        st.capture = None

    def close(self) -> None:
        """Finish the capture writes (the capture tool, at exit)."""
        if self._capture_pool is not None:
            self._capture_pool.shutdown(wait=True)
            self._capture_pool = None

    # ---- for the page and health ---------------------------------------------------------

    def recent(self, n: int | None = None) -> list[dict[str, Any]]:
        """The last documents, newest first, and what each became."""
        docs = [s.to_json() for s in reversed(self.recent_docs)]
        return docs[:n] if n is not None else docs

    @property
    def documents(self) -> int:
        return sum(self.counts[r] for r in RESULTS)

    def summary(self) -> dict[str, Any]:
        return {
            "documents": dict(self.counts),
            "dropped_bytes": self.dropped_bytes,
            "queued_bytes": self._queued,
            "capture_errors": len(self.capture_errors),
            "events_waiting_for_the_store": self._retrying,
        }

    async def drained(self, timeout: float | None = None) -> None:
        """Wait until every offered byte has been parsed (tests and the capture tool)."""
        await asyncio.wait_for(self.idle.wait(), timeout)


def plan_for_test(
    doc: Document, layout: Layout, tables: tuple[str, ...], seen: dict[str, str]
) -> tuple[Recognised | None, list[Planned], str | None]:
    """`floorlink receipts test`: what one document would become, without submitting."""
    bad = judge(doc)
    if bad is not None:
        return None, [], bad
    if doc.raster_only:
        return None, [], f"raster only: {doc.images} image(s), no text"
    rec = recognise(doc, layout)
    if rec.kind is None:
        return rec, [], None
    try:
        planned = to_events(rec, layout, seen.get(rec.fields.get("check", "")), tables)
    except NotAnEvent as exc:
        return rec, [], str(exc)
    if rec.fields.get("check") and rec.fields.get("table"):
        seen[rec.fields["check"]] = rec.fields["table"]
    return rec, planned, None
