"""`floorlink backup` while POS events stream through a real Mosquitto into the real daemon, then
`floorlink restore` and `floorlink replay` clean; restore refuses what is not a sound store."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from support import Daemon, Terminal

from floorlink.daemon.backup import BACKUP_RE, prune
from floorlink.daemon.broker import EmbeddedBroker


async def stream(pos: Terminal, stop: asyncio.Event, sent: list[str]) -> None:
    """Checks opened and closed on every table, each waiting for its ack, until told to stop."""
    n = 0
    while not stop.is_set():
        n += 1
        table = str(n % 8 + 1)
        for etype, fields in (
            ("check.opened", {"check": f"c{n}", "table": table, "guests": 2}),
            ("check.closed", {"check": f"c{n}", "total": "40.00"}),
            ("table.cleared", {"table": table}),
        ):
            eid = await pos.send(etype, **fields)
            await pos.ack(eid)
            sent.append(eid)


def newest_copy(folder: Path) -> Path:
    """The newest dated copy; each is one self-contained file (no -wal), none half-written."""
    copies = sorted(p for p in folder.iterdir() if BACKUP_RE.match(p.name))
    assert copies and not list(folder.glob(".*partial"))
    assert not Path(f"{copies[-1]}-wal").exists()
    return copies[-1]


def events_in(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        # the POS's events: the log's floor record (source "config", daemon/floor_admin.py) aside
        count: int = db.execute("SELECT count(*) FROM events WHERE source != 'config'").fetchone()[
            0
        ]
    finally:
        db.close()
    return count


async def test_backup_while_streaming_then_restore_and_replay_clean(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    d = Daemon(tmp_path / "d", broker, snapshot_every=25)
    d.start()
    backups = tmp_path / "backups"
    backups.mkdir()
    stop = asyncio.Event()
    sent: list[str] = []
    async with Terminal(broker) as pos:
        await pos.wait(lambda: pos.status == b"online")
        task = asyncio.create_task(stream(pos, stop, sent))
        await pos.wait(lambda: len(sent) >= 60, timeout=30)
        taken = []
        for _ in range(2):  # two copies, each taken while the terminal keeps sending
            before = len(sent)
            done = await asyncio.to_thread(d.cli, "backup", "--to", str(backups), "--keep", "5")
            assert done.returncode == 0, done.stdout + done.stderr
            assert "backed up" in done.stdout
            taken.append(before)
            target = len(sent) + 30
            await pos.wait(lambda target=target: len(sent) >= target, timeout=30)
        stop.set()
        await task
    newest = newest_copy(backups)
    held = events_in(newest)
    assert held >= taken[-1]
    assert held < len(sent)

    # The daemon still runs: restore refuses and says how to stop it.
    refused = d.cli("restore", str(newest))
    assert refused.returncode == 1
    assert "systemctl stop floorlink" in refused.stdout
    assert d.stop() == 0

    done = d.cli("restore", str(newest))
    assert done.returncode == 0, done.stdout + done.stderr
    store = d.workdir / "floorlink.db"
    assert events_in(store) == held
    kept = list(d.workdir.glob("floorlink.db.before-restore-*"))
    assert len(kept) == 1 and events_in(kept[0]) == len(sent)
    replay = d.cli("replay")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "equals the stored state" in replay.stdout

    # The daemon starts on the restored store and carries on from it.
    d.start()
    async with Terminal(broker, "T2") as pos:
        await pos.wait(lambda: pos.status == b"online" and len(pos.tables) == 8)
        eid = await pos.send("check.opened", check="after", table="3", guests=2)
        assert (await pos.ack(eid))["result"] == "accepted"
    assert d.stop() == 0
    assert d.cli("replay").returncode == 0


def test_restore_refuses_what_is_not_a_sound_floorlink_store(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    d = Daemon(tmp_path / "d", broker)
    d.start()
    assert d.stop() == 0
    store = d.workdir / "floorlink.db"
    before = store.read_bytes()

    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE recipes (name TEXT)")
    db.commit()
    db.close()
    good = tmp_path / "good.db"
    assert d.cli("backup", "--to", str(good)).returncode == 0
    # A copy with a damaged page in the middle: it opens, but integrity_check finds it.
    damaged = tmp_path / "damaged.db"
    data = bytearray(good.read_bytes())
    page = 4096
    assert len(data) > 3 * page
    data[2 * page + 8 : 3 * page - 8] = bytes(range(256)) * ((page - 16) // 256)
    damaged.write_bytes(bytes(data))
    newer = tmp_path / "newer.db"
    newer.write_bytes(good.read_bytes())
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version = 999")
    db.close()

    for path, reason in (
        (tmp_path / "missing.db", "no such file"),
        (text, "not an SQLite database"),
        (other, "not a Floorlink store"),
        (damaged, "integrity"),
        (newer, "newer Floorlink"),
    ):
        done = d.cli("restore", str(path))
        assert done.returncode == 1, (path, done.stdout)
        assert reason in done.stdout or "malformed" in done.stdout, (path, done.stdout)
        assert store.read_bytes() == before  # nothing touched
    assert d.cli("restore", str(good)).returncode == 0


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    names = [f"floorlink-2026110{n}T043000Z.db" for n in range(1, 8)]
    for name in [*names, "keep-me.db"]:
        (tmp_path / name).write_bytes(b"")
    gone = prune(tmp_path, 3)
    assert [p.name for p in gone] == names[:4]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names[4:], "keep-me.db"])
