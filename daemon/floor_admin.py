"""The floor at run time, on the shell's side: from the config into the log, live reload
(SIGHUP, `systemctl reload floorlink`), and the page's floor editor (validate, apply).

The core decides every floor change (daemon/core/floor_changes.py); this module only turns a
config or an editor's floor into one `floor.change` input, and tells the outside what changed:
a new table's retained MQTT topic comes with its commit (as every table change), a removed
table's retained topic is cleared, and the page is sent the new floor. On start the config's
floor is compared with the log's and the difference submitted before any other input, so the
first event of a new store records its floor.

A reload re-reads the config file and applies its floor; an invalid file is refused, logged and
counted (`floorlink_config_reloads_total{result="invalid"}`) and the old floor stays. Other
sections of the file take effect at the next restart (the log says which differ).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import Counter

from floorlink.daemon import config_writer, topics
from floorlink.daemon.config import Config, ConfigError, load_config
from floorlink.daemon.core.floor import TableSpec
from floorlink.daemon.core.floor_changes import (
    FLOOR_CHANGE,
    FLOOR_CHANGED,
    decide_floor_change,
    floor_json,
    spec_json,
    spec_of,
)
from floorlink.daemon.core.reasons import Rejected
from floorlink.daemon.core.state import Input, State
from floorlink.daemon.service import JSON, CommandResult
from floorlink.daemon.store import StoreError

if TYPE_CHECKING:
    from floorlink.daemon.app import App
    from floorlink.daemon.engine import Committed
    from floorlink.daemon.store import Store

log = structlog.get_logger(__name__)

RELOADS = Counter(
    "floorlink_config_reloads_total",
    "Config reloads (SIGHUP, systemctl reload, the floor editor), by result",
    ["result"],  # ok, invalid, refused, failed
)
#: The keys of a table the page draws, beside its table object.
LAYOUT_KEYS = ("seats", "section", "x", "y", "shape", "name")


def floor_of(config: Config) -> tuple[TableSpec, ...]:
    """The floor a config describes."""
    return tuple(
        TableSpec(
            id=t.id,
            seats=t.seats,
            section=t.section,
            x=t.x,
            y=t.y,
            shape=t.shape,
            name=t.name,
            combine_with=tuple(t.combine_with),
            aliases=tuple(t.aliases),
        )
        for t in config.tables
    )


def seed_tables(store: Store) -> tuple[TableSpec, ...] | None:
    """The floor a log starts from: that of its first `floor.changed` (a new store's first
    event; in a store begun by an older Floorlink, the config of its first start with floor
    changes, the best record of the floor its older events had). None: no record yet, the
    config's floor is all there is. Read on the store's thread, with the store open."""
    try:
        db = store.db
    except StoreError:  # not open yet (the engine's first state, before the store opens)
        return None
    row = db.execute(
        "SELECT data FROM events WHERE type = ? ORDER BY seq LIMIT 1", (FLOOR_CHANGED,)
    ).fetchone()
    if row is None:
        return None
    return tuple(spec_of(t) for t in json.loads(row[0])["tables"])


def layout_view(state: State) -> dict[str, JSON]:
    """table id -> the table as the floor records it (the engine's `floor` view)."""
    return {s.id: spec_json(s) for s in state.specs}


def _refused(error: str, status: int = 409, **body: Any) -> CommandResult:
    return CommandResult(False, body={"ok": False, "errors": [error], **body}, status=status,
                         error=error)  # fmt: skip


class FloorAdmin:
    """The floor's edits for one App: start, reload, the editor's validate and apply."""

    def __init__(self, app: App, path: Path | None) -> None:
        self.app = app
        self.path = path
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

    # ---- reading ---------------------------------------------------------------------------

    def layout(self) -> dict[str, JSON]:
        return self.app.reads.floor()

    def floor(self) -> JSON:
        return {
            "tables": list(self.layout().values()),
            "editable": self.path is not None,
            "path": str(self.path) if self.path is not None else None,
        }

    # ---- into the log ------------------------------------------------------------------------

    def _input(self, tables: list[JSON], source: str) -> Input:
        at = self.app.clock.now()
        return Input(source, uuid.uuid4().hex, FLOOR_CHANGE, at, {"tables": tables})

    def submit_config(self, config: Config) -> asyncio.Future[Committed]:
        """The config's floor as one input (on start: queued before any other input)."""
        return self.app.engine.submit_nowait(self._input(floor_json(floor_of(config)), "config"))

    async def settle_start(self, fut: asyncio.Future[Committed]) -> None:
        """Log how the start's floor input went; a refusal keeps the log's floor running."""
        try:
            res = await fut
        except Exception as exc:  # the store failed: the supervisor reports it; keep starting
            log.error("the config's floor could not be saved", error=str(exc))
            return
        outcome = res.outcome
        if outcome.result == "rejected":
            log.error("the config's floor was not applied", error=outcome.error)
        elif outcome.body.get("logged"):
            log.info("floor from the config", **_summary(outcome.body))

    # ---- reload ------------------------------------------------------------------------------

    def request_reload(self) -> None:
        """SIGHUP: reload in the background (the signal handler must not wait)."""
        task = asyncio.get_running_loop().create_task(self.reload(), name="floorlink.reload")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reload(self) -> CommandResult:
        """Re-read the config file; apply its floor. An invalid file changes nothing."""
        async with self._lock:
            return await self._reload()

    async def _reload(self) -> CommandResult:
        if self.path is None:
            RELOADS.labels("failed").inc()
            log.error("reload asked, but the daemon was started without a config path")
            return _refused("This daemon was started without a config file.", 409)
        try:
            config = await asyncio.to_thread(load_config, self.path)
        except ConfigError as exc:
            RELOADS.labels("invalid").inc()
            log.error("config not reloaded: the file is invalid", errors=exc.described)
            return CommandResult(
                False, {"ok": False, "errors": exc.described}, 409, "; ".join(exc.described)
            )
        self._note_restart_only(config)
        try:
            res = await self.submit_config(config)
        except Exception as exc:
            RELOADS.labels("failed").inc()
            log.error("config not reloaded: the floor could not be saved", error=str(exc))
            return _refused(f"Floorlink cannot save right now: {exc}", 503)
        outcome = res.outcome
        if outcome.result == "rejected":
            RELOADS.labels("refused").inc()
            log.error("config reloaded, its floor refused", error=outcome.error)
            return _refused(outcome.error or "refused", 409, reason=outcome.reason)
        RELOADS.labels("ok").inc()
        log.info("config reloaded", **_summary(outcome.body))
        return CommandResult(True, {"ok": True, **_summary(outcome.body)})

    def _note_restart_only(self, config: Config) -> None:
        running = self.app.config
        differ = [
            name
            for name in type(config).model_fields
            if name != "tables" and getattr(config, name) != getattr(running, name)
        ]
        if differ:
            log.warning("config sections that take effect at the next restart", sections=differ)

    # ---- the editor --------------------------------------------------------------------------

    async def validate(self, tables: list[JSON]) -> CommandResult:
        """What applying `tables` would do, or every reason it cannot: the core's rules (a
        table in use), then the whole config file as `floorlink check-config` reads it."""
        async with self._lock:
            return await self._validate(tables)

    async def _validate(self, tables: list[JSON]) -> CommandResult:
        def decide() -> JSON:  # on the store thread: pure, and it changes nothing
            _events, body = decide_floor_change(self.app.engine.state, {"tables": tables})
            return body

        try:
            body = await self.app.engine.call(decide)
        except Rejected as exc:
            return _refused(exc.error)
        if self.path is not None:
            try:
                text = await asyncio.to_thread(
                    config_writer.render, self.path, _tables_edit(tables)
                )
                config_writer.check(text)
            except ConfigError as exc:
                return CommandResult(
                    False, {"ok": False, "errors": exc.described}, 409, "; ".join(exc.described)
                )
        return CommandResult(True, {"ok": True, **_summary(body)})

    async def apply(self, tables: list[JSON]) -> CommandResult:
        """Validate, back up and write the config file (comments kept), then reload it."""
        async with self._lock:
            checked = await self._validate(tables)
            if not checked.ok:
                return checked
            if self.path is None:
                return _refused(
                    "This daemon was started without a config file: nothing to write.", 409
                )
            try:
                written = await asyncio.to_thread(
                    config_writer.update, self.path, _tables_edit(tables)
                )
            except ConfigError as exc:
                return CommandResult(
                    False, {"ok": False, "errors": exc.described}, 409, "; ".join(exc.described)
                )
            except OSError as exc:
                log.error("the floor could not be written", path=str(self.path), error=str(exc))
                return _refused(f"Could not write {self.path}: {exc.strerror or exc}", 503)
            log.info("floor written", path=str(self.path), backup=str(written.backup))
            result = await self._reload()
            backup = str(written.backup) if written.backup else None
            if not result.ok and written.backup is not None:  # refused meanwhile: put it back
                await asyncio.to_thread(config_writer.restore, self.path, written.backup)
            return CommandResult(result.ok, result.body | {"backup": backup}, result.status,
                                 result.error)  # fmt: skip

    # ---- after each commit ---------------------------------------------------------------------

    def on_committed(
        self, batch: list[Committed], publish: Callable[[str, bytes], object]
    ) -> JSON | None:
        """A removed table leaves the engine's tables and its retained topic; answers the new
        floor for the page when the batch changed it."""
        floor_changed = False
        for res in batch:
            for event in res.outcome.events:
                if event.type != FLOOR_CHANGED:
                    continue
                floor_changed = True
                for tid in event.data.get("removed") or ():
                    self.app.engine.tables.pop(tid, None)
                    publish(topics.table(tid), b"")
        return {"tables": self.app.tables()} if floor_changed else None


def _tables_edit(tables: list[JSON]) -> Callable[[Any], None]:
    return lambda doc: config_writer.set_tables(doc, tables)


def _summary(body: JSON) -> JSON:
    return {k: list(body.get(k) or ()) for k in ("added", "removed", "changed")}
