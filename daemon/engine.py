"""The single writer: inputs in, one transaction per batch, outcomes out after the commit.

The state and the store live on one worker thread. Inputs queue up while a batch commits and go
into the next one (group commit), so a slow fsync on an SD card costs latency, not throughput.
Inside a batch each input is decided and written together with its events, outbox effects and
table views; the batch commits with `synchronous=FULL`; only then are the callers' futures
resolved, so an ack can never get ahead of the disk.

The state in memory changes only when the commit does: when a batch fails, SQLite rolls back and
the state is rebuilt from the store (snapshot + log), then the batch's inputs are retried one by
one. An input that fails alone is answered `rejected` and kept in the dead letters with the reason;
only when even that cannot be written is the store itself failing (StoreError, fatal).

A full disk is not fatal: the engine releases its space reserve (daemon/reserve.py), refuses new
inputs with a `rejected` answer that says the box is full (nothing is acknowledged and then lost),
keeps serving what is in memory, and resumes by itself once the reserve can be made again.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import structlog

from floorlink.daemon import metrics
from floorlink.daemon.core.closed_checks import fold_rows, take_rows
from floorlink.daemon.core.state import Event, Input, Outcome, State
from floorlink.daemon.core.text import safe_text, storable
from floorlink.daemon.reserve import SpaceReserve
from floorlink.daemon.store import OutboxRow, Store, StoreError, Written

log = structlog.get_logger(__name__)

MAX_BATCH = 256
#: After a burst of at least this many inputs, once the writer has been idle TRIM_IDLE_S, it
#: gives back the memory the burst grew (see _trim).
TRIM_AFTER_INPUTS = 1000
TRIM_IDLE_S = 1.0
T = TypeVar("T")
DISK_FULL = "Floorlink's disk is full: this event was not saved. Send it again later."


class StoreProjection(Protocol):
    """A table derived from the log, kept current in the same transaction as its events (the
    guest profiles, daemon/profiles.py): `opened` inside the open transaction, `write` after
    each input's events and closed-checks rows are written."""

    def opened(self, store: Store) -> None: ...

    def write(
        self, store: Store, events: Iterable[Event], checks: Iterable[Mapping[str, Any]]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class RejectInput:
    """An input the driver already found invalid: dead-lettered with its reason, answered in
    order. `eid` (when valid) keys the rejection so a resend gets the same answer; `reply_id` is
    the id to answer with even when it is not a valid one; `payload` is kept as it came."""

    source: str
    eid: str | None
    type: str
    error: str
    reply_id: str | None = None
    payload: bytes | None = None


@dataclass(slots=True)
class Committed:
    """One input after its commit: what to answer, and the table objects it changed."""

    input: Input | RejectInput
    outcome: Outcome
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)


def now_ms() -> int:
    return int(time.time() * 1000)


class Engine:
    def __init__(
        self,
        store: Store,
        make_state: Callable[[], State],
        snapshot_every: int = 1000,
        clock: Callable[[], int] = now_ms,
        reserve: SpaceReserve | None = None,
        projections: Sequence[StoreProjection] = (),
    ) -> None:
        self.store = store
        self.projections = list(projections)
        self.reserve = reserve
        self.writable = True
        self.make_state = make_state
        self.state = make_state()
        self.snapshot_every = snapshot_every
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="floorlink-store")
        self._queue: asyncio.Queue[tuple[Input | RejectInput, asyncio.Future[Committed]]] = (
            asyncio.Queue()
        )
        self._listeners: list[Callable[[list[Committed]], None]] = []
        self._snapshot_seq = 0
        self.tables: dict[str, dict[str, Any]] = {}
        self.failed: BaseException | None = None
        self.batches = 0
        self._since_trim = 0
        self.trims = 0  # memory given back after a burst (see _trim)
        # Views of the parts (waitlist, reservations) for the loop thread, rebuilt on the store
        # thread after a batch whose events they fold: (event type prefixes, builder).
        self.view_builders: dict[str, tuple[tuple[str, ...], Callable[[State], Any]]] = {}
        self.views: dict[str, Any] = {}
        self.views_changed: set[str] = set()

    # ---- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        """Open the store and rebuild the state from the last snapshot plus the log's tail."""
        await self.call(self._open)

    def _open(self) -> None:
        try:
            self.store.open()
        except StoreError as exc:
            # On a full disk SQLite may say "disk I/O error" while making its WAL and shm files.
            if self.reserve is None or (not _disk_full(exc) and self.reserve.room()):
                raise
            self.reserve.release()  # room to open the WAL; writes stay refused until space returns
            self.store.open()
            self._enter_full(exc)
        self._rebuild()
        self.tables = {tid: self.state.table_object(tid) for tid in self.state.floor.specs}
        self.views = {name: build(self.state) for name, (_, build) in self.view_builders.items()}
        try:
            self.store.begin()
            self.store.write_tables(self.tables)
            if self.store.meta("closed_checks.rebuild") is not None:
                self._rebuild_projection()
            for projection in self.projections:
                projection.opened(self.store)
            self.store.commit()
        except BaseException as exc:
            self.store.rollback()
            if not _disk_full(exc):
                raise
            self._enter_full(exc)
        short = self.reserve is not None and not self.reserve.room()
        if self.writable and not self.check_space() and short:
            self._enter_full(OSError(errno.ENOSPC, "no room for the space reserve"))
        if self.writable:
            try:
                self.store.prune_snapshots()
            except BaseException as exc:
                if not _disk_full(exc):
                    raise
                self._enter_full(exc)

    def _rebuild_projection(self) -> None:
        """A store made before the closed-checks projection: fold its whole log once to fill it
        (inside the open transaction)."""
        rows = fold_rows(self.make_state(), self.store.events())
        self.store.replace_closed_checks(rows)
        log.info("closed-checks projection rebuilt from the log", seq=self.store.last_seq())

    def check_space(self) -> bool:
        """On the store thread: hold the reserve again if the disk has room; True while writable.
        Called on every batch while the disk is full, and by the daemon's space probe."""
        if self.reserve is not None and not self.reserve.ensure():
            if self.writable:
                log.warning("no room for the space reserve", path=str(self.reserve.path))
            return self.writable
        if not self.writable:
            log.warning("disk space is back: saving events again")
            self.writable = True
            metrics.STORE_WRITABLE.set(1)
        return True

    def _enter_full(self, exc: BaseException) -> None:
        if self.reserve is not None:
            self.reserve.release()
        if self.writable:
            log.error("the disk is full: refusing new events until space returns", error=str(exc))
        self.writable = False
        metrics.STORE_WRITABLE.set(0)

    def _rebuild(self) -> None:
        """The state from the newest snapshot that loads and is not ahead of the log, plus the
        log's tail; from the whole log when no snapshot qualifies. The log is the truth."""
        last = self.store.last_seq()
        for seq, text in self.store.snapshots():
            if seq > last:
                log.warning("snapshot is ahead of the log: ignored", snapshot=seq, log=last)
                continue
            state = self.make_state()
            try:
                state.load_json(json.loads(text))
                if state.seq != seq:
                    raise ValueError(f"snapshot row {seq} holds the state at {state.seq}")
                state.replay(self.store.events(after=seq))
            except Exception as exc:
                log.warning("snapshot unusable: trying an older one", snapshot=seq, error=str(exc))
                continue
            take_rows(state)  # the tail's rows were stored with the tail
            self.state, self._snapshot_seq = state, seq
            return
        state = self.make_state()
        try:
            state.replay(self.store.events())
        except Exception as exc:
            raise StoreError(f"the event log cannot be replayed: {exc}") from exc
        take_rows(state)
        self.state, self._snapshot_seq = state, 0

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn` on the store thread (the only thread that touches the state or the store)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def close(self) -> None:
        try:
            await self.call(self._close)
        finally:
            self._pool.shutdown(wait=True)

    def _close(self) -> None:
        # Never snapshot after a store failure: the state is only trusted when the log agrees.
        if (
            self.failed is None
            and self.store._db is not None
            and self.state.seq > self._snapshot_seq
        ):
            self.store.begin()
            self.store.write_snapshot(self.state.seq, self.state.dumps(), self.clock())
            self.store.commit()
        self.store.close(clean=self.failed is None)

    async def maintain(self, fn: Callable[[Store], T]) -> T:
        """Run `fn(store)` on the store thread between batches (a guest erase rewrites the log),
        then fold the state, the table objects and every view again from the store, and tell
        the listeners (with an empty batch) so what was published is refreshed."""

        def run() -> tuple[T, dict[str, Any]]:
            out = fn(self.store)
            self._rebuild()
            self.tables = {tid: self.state.table_object(tid) for tid in self.state.floor.specs}
            views = {name: build(self.state) for name, (_, build) in self.view_builders.items()}
            return out, views

        out, views = await self.call(run)
        self.views.update(views)
        self.views_changed = set(views)
        for listener in self._listeners:
            try:
                listener([])
            except Exception:
                log.exception("listener failed")
        return out

    async def next_outbox(self, consumer: str, limit: int, wake: asyncio.Event) -> list[OutboxRow]:
        """The consumer's oldest pending rows; waits on `wake` (set after new commits) while
        there are none."""
        while True:
            wake.clear()
            rows = await self.call(self.store.outbox_pending, consumer, limit)
            if rows:
                return rows
            await wake.wait()

    async def settle(self, ids: list[int], state: str, error: str | None = None) -> None:
        """Mark outbox rows done / dead / expired (an outbox consumer's one write)."""
        await self.call(self.store.outbox_settle, ids, state, self.clock(), error)

    def subscribe(self, listener: Callable[[list[Committed]], None]) -> None:
        """Called on the event loop after every commit, with the batch's results in order."""
        self._listeners.append(listener)

    # ---- intake --------------------------------------------------------------------------

    def submit_nowait(self, inp: Input | RejectInput) -> asyncio.Future[Committed]:
        fut: asyncio.Future[Committed] = asyncio.get_running_loop().create_future()
        if self.failed is not None:
            fut.set_exception(StoreError(f"the store failed: {self.failed}"))
            return fut
        self._queue.put_nowait((inp, fut))
        return fut

    async def submit(self, inp: Input | RejectInput) -> Committed:
        return await self.submit_nowait(inp)

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def run(self) -> None:
        """The batcher: take what is queued, commit it as one batch, resolve, repeat."""
        while True:
            if self._since_trim >= TRIM_AFTER_INPUTS:
                try:
                    first = await asyncio.wait_for(self._queue.get(), TRIM_IDLE_S)
                except TimeoutError:  # the burst is over (a get that lost the race kept its item)
                    self._since_trim = 0
                    await self.call(self._trim)
                    continue
            else:
                first = await self._queue.get()
            batch = [first]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results, views = await self.call(self._commit_batch, [inp for inp, _ in batch])
            except BaseException as exc:
                self.failed = exc
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(StoreError(f"the store failed: {exc}"))
                raise
            self.batches += 1
            self.views.update(views)
            self.views_changed = set(views)
            for res in results:
                self.tables.update(res.tables)
            for (_, fut), res in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(res)
            for listener in self._listeners:
                try:
                    listener(results)
                except Exception:
                    log.exception("listener failed")
            self._since_trim += len(batch)

    def _trim(self) -> None:
        """A burst is over: give back what it grew (SQLite's page cache, bounded but full after a
        burst of dead letters, then the allocator's free pages), so RSS returns to its baseline."""
        try:
            self.store.release_memory()
        except StoreError:
            return
        release_free_memory()
        self.trims += 1

    def _commit_batch(
        self, inputs: Iterable[Input | RejectInput]
    ) -> tuple[list[Committed], dict[str, Any]]:
        inputs = list(inputs)
        if not self.writable and not self.check_space():
            return [_refused(inp) for inp in inputs], {}
        try:
            results = self._write_batch(inputs)
        except Exception as exc:
            self._rebuild()
            if _disk_full(exc):
                self._enter_full(exc)
                return [_refused(inp) for inp in inputs], {}
            log.error(
                "batch not stored: state rolled back, retrying its inputs one by one",
                error=repr(exc)[:300],
                inputs=len(inputs),
            )
            results = []
            for inp in inputs:
                if not self.writable:
                    results.append(_refused(inp))
                    continue
                try:
                    results.extend(self._write_batch([inp]))
                except Exception as one:
                    self._rebuild()
                    if _disk_full(one):
                        self._enter_full(one)
                        results.append(_refused(inp))
                    else:
                        results.append(self._dead_letter(inp, one))
        types = {e.type for r in results for e in r.outcome.events}
        views = {
            name: build(self.state)
            for name, (prefixes, build) in self.view_builders.items()
            if any(t.startswith(prefixes) for t in types)
        }
        return results, views

    def _write_batch(self, inputs: list[Input | RejectInput]) -> list[Committed]:
        """Decide and write `inputs` in one transaction; raises (with SQLite rolled back, and
        the state in memory then stale: the caller rebuilds it) when any part fails."""
        now = self.clock()
        keys = [(i.source, i.eid) for i in inputs if i.eid is not None]
        known = self.store.known(keys)
        seen: dict[tuple[str, str], str | None] = {}
        results: list[Committed] = []
        self.store.begin()
        try:
            for inp in inputs:
                results.append(self._one(inp, known, seen, now))
            if self.state.seq - self._snapshot_seq >= self.snapshot_every:
                self.store.write_snapshot(self.state.seq, self.state.dumps(), now)
                self._snapshot_seq = self.state.seq
            self.store.commit()
        except BaseException:
            self.store.rollback()
            raise
        return results

    def _dead_letter(self, inp: Input | RejectInput, exc: BaseException) -> Committed:
        """An input that cannot be stored on its own: rejected, kept with the reason. If even
        that cannot be written, the store is failing: StoreError."""
        error = f"Floorlink could not store this event: {type(exc).__name__}"
        log.error("input dead-lettered", source=inp.source, type=inp.type, error=repr(exc)[:300])
        payload = inp.payload if isinstance(inp, RejectInput) else _input_bytes(inp)
        now = self.clock()
        try:
            self.store.begin()
            self.store.write_dead_letter(inp.source, inp.eid, f"{error}: {exc!r}", payload, now)
            if inp.eid is not None and storable(inp.eid) and storable(inp.source):
                self.store.write_rejected(inp.source, inp.eid, safe_text(inp.type), error, now)
            self.store.commit()
        except Exception as fatal:
            self.store.rollback()
            if _disk_full(fatal):
                self._enter_full(fatal)
                return _refused(inp)
            raise StoreError(f"the store cannot be written: {fatal}") from fatal
        return Committed(inp, Outcome("rejected", error, "not_stored"))

    def _one(
        self,
        inp: Input | RejectInput,
        known: dict[tuple[str, str], str | None],
        seen: dict[tuple[str, str], str | None],
        now: int,
    ) -> Committed:
        if inp.eid is not None:
            key = (inp.source, inp.eid)
            if key in seen or key in known:
                prior = seen[key] if key in seen else known[key]
                if prior is None:
                    return Committed(inp, Outcome("duplicate"))
                return Committed(inp, Outcome("rejected", prior, "invalid_input"))
        if isinstance(inp, RejectInput):
            self.store.write_dead_letter(inp.source, inp.eid, inp.error, inp.payload, now)
            if inp.eid is not None:
                self.store.write_rejected(inp.source, inp.eid, inp.type, inp.error, now)
                seen[(inp.source, inp.eid)] = inp.error
            return Committed(inp, Outcome("rejected", inp.error, "invalid_input"))
        outcome = self.state.process(inp, now)
        for fault in outcome.faults:
            log.error(
                "a part failed to react; the event is stored, its follow-ups skipped",
                fault=fault,
                input=inp.key,
            )
        if outcome.result == "rejected":
            if inp.source.startswith("pos:"):
                self.store.write_rejected(inp.source, inp.eid, inp.type, outcome.error or "", now)
                seen[(inp.source, inp.eid)] = outcome.error
            return Committed(inp, outcome)
        tables = {tid: self.state.table_object(tid) for tid in outcome.changed_tables}
        checks = take_rows(self.state)
        self.store.write(Written(outcome.events, outcome.effects, tables, checks), now)
        for projection in self.projections:
            projection.write(self.store, outcome.events, checks)
        seen[(inp.source, inp.eid)] = None
        return Committed(inp, outcome, tables)


def release_free_memory() -> None:
    """glibc's malloc_trim(0): return the free pages of every arena to the system (the store
    thread has its own arena, which plain free() does not shrink). Nothing elsewhere."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _refused(inp: Input | RejectInput) -> Committed:
    """Not stored because the disk is full: rejected, so the sender keeps it and sends it again."""
    return Committed(inp, Outcome("rejected", DISK_FULL, "store_full"))


def _disk_full(exc: BaseException | None) -> bool:
    """SQLITE_FULL or ENOSPC anywhere in the exception's chain."""
    while exc is not None:
        if isinstance(exc, sqlite3.Error) and (
            getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or "database or disk is full" in str(exc)
        ):
            return True
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _input_bytes(inp: Input) -> bytes:
    """An input as JSON bytes for the dead letters, whatever text it holds."""
    body = {"source": inp.source, "id": inp.eid, "type": inp.type, "at": inp.at, "data": inp.data}
    return json.dumps(body, default=str).encode()
