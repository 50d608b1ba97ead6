"""`POST /api/v1/backup`: the host stand's Backup button. The same copy as `floorlink backup`
(daemon/backup.py: SQLite's online backup API, safe while the daemon writes, checked with
`integrity_check`), made in a temporary folder beside the store and answered as a download; the
copy on the box is deleted once sent (the nightly timer keeps the box's own copies)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import Counter

from floorlink.daemon.backup import BackupError, backup

log = structlog.get_logger(__name__)

BACKUPS = Counter(
    "floorlink_page_backups_total", "Backups downloaded from the host stand, by outcome", ["ok"]
)
CHUNK = 256 * 1024


def _refused(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def store_path_of(service: Any) -> str | None:
    """The store file of the daemon behind the API (App.config.store.path), if it has one."""
    config = getattr(service, "config", None)
    path = getattr(getattr(config, "store", None), "path", None)
    return path if isinstance(path, str) else None


async def backup_download(request: web.Request, service: Any) -> web.StreamResponse:
    """Copy the store and stream the copy; 503 with the reason when it cannot be made."""
    store_path = store_path_of(service)
    if not store_path or store_path == ":memory:":
        return _refused(503, "This daemon has no store file to back up.")
    store = Path(store_path)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        folder = Path(tempfile.mkdtemp(prefix=".backup-", dir=store.parent))
    except OSError as exc:
        BACKUPS.labels("false").inc()
        return _refused(503, f"Cannot make a backup beside the store: {exc.strerror or exc}")
    try:
        target = folder / f"floorlink-{stamp}.db"
        try:
            facts = await asyncio.to_thread(backup, store, target)
        except (BackupError, OSError) as exc:
            BACKUPS.labels("false").inc()
            log.error("backup from the page failed", error=str(exc))
            return _refused(503, f"The backup failed: {exc}")
        resp = web.StreamResponse(
            headers={
                "Content-Type": "application/vnd.sqlite3",
                "Content-Disposition": f'attachment; filename="{target.name}"',
                "Content-Length": str(facts.size),
                "Cache-Control": "no-store",
                "X-Floorlink-Events": str(facts.events),
            }
        )
        await resp.prepare(request)
        with target.open("rb") as f:  # opened here, read off the loop below
            while chunk := await asyncio.to_thread(f.read, CHUNK):
                await resp.write(chunk)
        await resp.write_eof()
        BACKUPS.labels("true").inc()
        log.info("backup downloaded", events=facts.events, size=facts.size, client=request.remote)
        return resp
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
