"""The naive pipeline, a floor for the daemon: one MQTT client, one SQLite commit per event.

What a first version of Floorlink would be: take a message, store it in its own fully synced
transaction (WAL, `synchronous=FULL`, as the daemon), fold it into a dict of tables, publish the
retained table state and the ack, take the next. No group commit, no validation beyond JSON, no
outbox, no snapshots. It serves the same contract topics under its own prefix, so the bench's
load (bench/lifecycle.py) drives it unchanged on the same broker and disk.

    python bench/naive.py PORT DB [FSYNC_MS]
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import sys
from pathlib import Path
from typing import Any

import aiomqtt

PREFIX = "naive/v1"
STATUS = {
    "check.opened": "seated",
    "check.printed": "check_dropped",
    "check.closed": "bussing",
    "table.cleared": "available",
}


def fold(tables: dict[str, dict[str, Any]], checks: dict[str, str], ev: dict[str, Any]) -> str:
    """The table the event changes, after changing it."""
    etype = ev["type"]
    table = ev.get("table") or checks.get(ev.get("check", ""), "")
    t = tables.setdefault(table, {"table": table, "status": "available", "course": None})
    if etype == "check.opened":
        checks[ev["check"]] = table
        t.update(status="seated", course=None, check=ev["check"], since=ev["at"])
    elif etype == "check.course_fired":
        t["course"] = ev["course"]
    elif etype in STATUS:
        t.update(status=STATUS[etype], since=ev["at"])
        if etype == "table.cleared":
            t.update(course=None, check=None)
        elif etype == "check.closed":
            checks.pop(ev.get("check", ""), None)
    return table


async def serve(port: int, path: Path, fsync_ms: float) -> None:
    if fsync_ms:
        from sdcard import install

        install(fsync_ms)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE IF NOT EXISTS events (source, id, body, PRIMARY KEY (source, id))")
    tables: dict[str, dict[str, Any]] = {}
    checks: dict[str, str] = {}
    opts = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    async with aiomqtt.Client(
        "127.0.0.1", port, identifier="naive", socket_options=opts, max_inflight_messages=1000
    ) as client:
        await client.subscribe(f"{PREFIX}/pos/+/events", qos=1)
        print("ready", flush=True)
        async for m in client.messages:
            terminal = str(m.topic).split("/")[3]
            raw = m.payload if isinstance(m.payload, bytes) else b""
            ev = json.loads(raw)
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("INSERT INTO events VALUES (?, ?, ?)", (terminal, ev["id"], raw))
                result = "accepted"
            except sqlite3.IntegrityError:
                result = "duplicate"
            db.execute("COMMIT")
            if result == "accepted":
                table = fold(tables, checks, ev)
                client._client.publish(
                    f"{PREFIX}/tables/{table}", json.dumps(tables[table]), qos=1, retain=True
                )
            ack = json.dumps({"id": ev["id"], "result": result})
            client._client.publish(f"{PREFIX}/pos/{terminal}/acks", ack, qos=1)


if __name__ == "__main__":
    ms = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    asyncio.run(serve(int(sys.argv[1]), Path(sys.argv[2]), ms))
