"""Hardening items 1-4 and 6: no single message takes the box down, and no restart brings it back
down. Each poison message goes through a real Mosquitto with a persistent session, so a daemon
that died on it would meet it again on every restart (the field failure): the daemon is restarted
twice after each and must stay healthy, answer the terminal, and keep the message as a dead letter.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from support import Daemon, Terminal

from floorlink.daemon.broker import EmbeddedBroker


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def event(eid: str, **fields: object) -> bytes:
    body: dict[str, object] = {"id": eid, "type": "check.opened", "at": now()}
    body |= {"check": "c1", "table": "1"}
    body.update(fields)
    return json.dumps(body).encode()


#: name -> (payload bytes, the id the terminal hears back, or None when there is none to read)
POISON: dict[str, tuple[bytes, str | None]] = {
    # 1. a lone UTF-16 surrogate in the id (JSON escapes it; Python decodes it; UTF-8 cannot)
    "surrogate id": (b'{"id": "\\ud800", "type": "check.opened", "at": "%s"}', "\ud800"),
    "surrogate check": (event("sur-check", check="c\udfff1"), "sur-check"),
    # 2. timestamps the parser reads but no time zone can render
    "year 9999": (event("late", at="9999-12-31T23:59:59-14:00"), "late"),
    "year 1": (event("early", at="0001-01-01T00:00:00Z"), "early"),
    # 3. nesting deeper than the JSON parser's recursion limit
    "deep": (b"[" * 1000 + b"]" * 1000, None),
    "deep with id": (b'{"id": "deep-1", "x": ' + b"[" * 3000 + b"]" * 3000 + b"}", None),
    # 6. an id over 64 characters: answered, by that id, with why
    "long id": (event("x" * 65), "x" * 65),
}


def payload_of(name: str) -> bytes:
    raw, _ = POISON[name]
    return raw.replace(b"%s", now().encode()) if b"%s" in raw else raw


async def test_poison_messages_are_answered_kept_and_survive_restarts(
    broker: EmbeddedBroker, daemon: Daemon
) -> None:
    async with Terminal(broker) as pos:
        for name in POISON:
            await pos.raw(payload_of(name))
        ok = await pos.send("check.opened", check="good", table="2")
        assert (await pos.ack(ok))["result"] == "accepted"  # acked in order: after every poison
        for name, (_, reply) in POISON.items():
            if reply is not None:
                ack = await pos.ack(reply)
                assert ack["result"] == "rejected", name
                assert ack["error"], name
        assert "Unicode" in pos.acks["\ud800"]["error"]
        assert "2000 and 2099" in pos.acks["late"]["error"]
        assert "64" in pos.acks["x" * 65]["error"]
        for _ in range(2):  # the field failure: each restart met the same message again
            assert daemon.stop() == 0
            daemon.start()
        after = await pos.send("check.opened", check="after", table="3")
        assert (await pos.ack(after))["result"] == "accepted"
        await pos.table("3", "seated")
    assert daemon.stop() == 0
    db = sqlite3.connect(daemon.workdir / "floorlink.db")
    dead = db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
    assert dead == len(POISON)
    reasons = [r for (r,) in db.execute("SELECT reason FROM dead_letters")]
    assert any("nested too deeply" in r for r in reasons)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    replay = daemon.cli("replay")
    assert replay.returncode == 0, replay.stdout + replay.stderr


def test_the_daemon_ignores_sigpipe(daemon: Daemon) -> None:
    """A write to a socket the broker just closed must be an error the daemon handles: with the
    default SIGPIPE action it died silently, and systemd took that as a clean exit."""
    assert daemon.proc is not None
    status = Path(f"/proc/{daemon.proc.pid}/status").read_text()
    ignored = int(
        next(line for line in status.splitlines() if line.startswith("SigIgn:")).split()[1], 16
    )
    assert ignored & (1 << (signal.SIGPIPE - 1)), "SIGPIPE is not ignored by `floorlink run`"
    os.kill(daemon.proc.pid, signal.SIGPIPE)
    daemon.wait_healthy()  # still there
