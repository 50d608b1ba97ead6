"""The floor as data (issue 11): a floor change is an input decided by the core and logged, so
replay understands it; the daemon reloads its floor on SIGHUP without a restart; an invalid
file on reload keeps the old floor; a table with an open check cannot be removed.

Real parts: `floorlink run` as a child process, a real Mosquitto, the CLI's `replay`."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from support import STAFF_TOKEN, Daemon, Terminal, wait_for, write_config

from floorlink.daemon.broker import EmbeddedBroker
from floorlink.daemon.core.floor import TableSpec
from floorlink.daemon.core.state import Input, State

EXIT_REPLAY_MISMATCH = 4


def rewrite(d: Daemon, broker: EmbeddedBroker, tables: int, extra: str = "") -> None:
    """The same site and store, another floor."""
    write_config(d.config, broker.port, d.http_port, tables, extra)


def reload_count(d: Daemon, result: str) -> float:
    text = d.get_text("/metrics")
    match = re.search(rf'floorlink_config_reloads_total\{{result="{result}"\}} (\S+)', text)
    return float(match.group(1)) if match else 0.0


def put_floor(d: Daemon, tables: list[dict[str, Any]]) -> tuple[int, Any]:
    req = urllib.request.Request(
        f"{d.url}/api/v1/floor",
        data=json.dumps({"tables": tables}).encode(),
        headers={"Authorization": f"Bearer {STAFF_TOKEN}", "Content-Type": "application/json"},
        method="PUT",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# ---- the core ------------------------------------------------------------------------------


def change(state: State, eid: str, tables: list[dict[str, Any]]) -> Any:
    return state.process(Input("host", eid, "floor.change", 1_000, {"tables": tables}))


def test_a_floor_change_is_decided_and_folded_by_the_core() -> None:
    state = State((TableSpec("1", 4), TableSpec("2", 2)), ZoneInfo("UTC"))
    out = change(state, "a", [{"id": "1", "seats": 6, "x": 10, "y": 20}, {"id": "3", "seats": 2}])
    assert out.result == "accepted"
    assert out.body == {"added": ["3"], "removed": ["2"], "changed": ["1"], "logged": True}
    assert [e.type for e in out.events] == ["floor.changed"]
    assert out.changed_tables == ["3"]  # the new table gets its table object
    assert list(state.floor.specs) == ["1", "3"] and state.floor.specs["1"].seats == 6
    assert state.floor.states["3"].status == "available" and "2" not in state.floor.states
    again = change(state, "b", [{"id": "1", "seats": 6, "x": 10, "y": 20}, {"id": "3", "seats": 2}])
    assert again.result == "accepted" and again.events == []  # the same floor: nothing logged


def test_removing_a_table_with_an_open_check_is_refused_with_the_reason() -> None:
    state = State((TableSpec("1", 4), TableSpec("2", 2)), ZoneInfo("UTC"))
    opened = state.process(
        Input("pos:T1", "e1", "check.opened", 500, {"check": "41", "table": "2"})
    )
    assert opened.result == "accepted"
    before = state.dumps()
    out = change(state, "a", [{"id": "1", "seats": 4}])
    assert out.result == "rejected" and out.reason == "table_in_use"
    assert out.error is not None and "table 2 has an open check (41)" in out.error.lower()
    assert state.dumps() == before  # nothing changed
    state.process(Input("pos:T1", "e2", "check.voided", 600, {"check": "41"}))
    assert change(state, "b", [{"id": "1", "seats": 4}]).result == "accepted"


def test_a_bad_floor_is_refused_with_the_key_path() -> None:
    state = State((TableSpec("1", 4),), ZoneInfo("UTC"))
    out = change(state, "a", [{"id": "1", "seats": 0}])
    assert out.result == "rejected" and out.reason == "bad_field"
    assert out.error == "tables[0].seats: expected an integer >= 1, got 0"
    dup = change(state, "b", [{"id": "1", "seats": 2}, {"id": "1", "seats": 2}])
    assert dup.error is not None and "duplicate table id" in dup.error


def test_a_snapshot_carries_the_floor() -> None:
    state = State((TableSpec("1", 4),), ZoneInfo("UTC"))
    change(state, "a", [{"id": "1", "seats": 4}, {"id": "7", "seats": 8, "shape": "rect"}])
    loaded = State((TableSpec("1", 4),), ZoneInfo("UTC"))  # seeded with another floor
    loaded.load_json(json.loads(state.dumps()))
    assert loaded.dumps() == state.dumps()
    assert loaded.floor.specs["7"].shape == "rect"


# ---- the daemon ----------------------------------------------------------------------------


async def test_replay_is_clean_after_the_config_changed_between_runs(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    d = Daemon(tmp_path / "d", broker, tables=6)
    d.start()
    try:
        async with Terminal(broker) as pos:
            await pos.send("check.opened", check="101", table="2", guests=2)
            await pos.table("2", "seated")
            await pos.send("check.opened", check="102", table="5", guests=4)
            await pos.send("check.closed", check="102", total="20.00")
            await pos.table("5", "bussing")
    finally:
        assert d.stop() == 0
    # A table added, one removed, one moved: replay before and after the daemon saw it.
    rewrite(d, broker, 5, '[[tables]]\nid = "9"\nseats = 6\nsection = "patio"\nx = 50\ny = 50\n')
    first = d.cli("replay")
    assert first.returncode == 0, first.stdout + first.stderr
    d.start()
    tables = {t["table"]: t for t in d.get("/api/v1/tables")}
    assert set(tables) == {"1", "2", "3", "4", "5", "9"} and tables["9"]["section"] == "patio"
    assert tables["2"]["status"] == "seated" and tables["5"]["status"] == "bussing"
    assert d.stop() == 0
    rewrite(d, broker, 8)  # and back: every run with another config
    again = d.cli("replay")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "state equals the stored state" in again.stdout
    # Corruption is still corruption: a stored table object that the log does not give.
    db = sqlite3.connect(d.workdir / "floorlink.db")
    with db:
        db.execute("UPDATE tables SET object = replace(object, 'seated', 'bussing') WHERE id='2'")
    db.close()
    broken = d.cli("replay")
    assert broken.returncode == EXIT_REPLAY_MISMATCH, broken.stdout
    assert "MISMATCH" in broken.stdout and "tables differ: 2" in broken.stdout


async def test_sighup_reloads_the_floor_without_a_restart(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    d = Daemon(tmp_path / "d", broker, tables=4)
    d.start()
    try:
        assert d.proc is not None
        pid = d.proc.pid
        async with Terminal(broker) as pos:
            await pos.wait(lambda: set(pos.tables) == {"1", "2", "3", "4"})
            rewrite(d, broker, 3, '[[tables]]\nid = "12"\nseats = 2\nx = 20\ny = 80\n')
            d.proc.send_signal(signal.SIGHUP)
            await pos.wait(lambda: "12" in pos.tables and "4" not in pos.tables)
            assert pos.tables["12"]["status"] == "available"
        ids = await wait_for(
            lambda: {t["table"] for t in d.get("/api/v1/tables")} == {"1", "2", "3", "12"},
            "the new table on /api/v1/tables",
        )
        assert ids
        assert d.proc.pid == pid and d.proc.poll() is None  # the same process: no restart
        assert reload_count(d, "ok") == 1
        floor = d.get("/api/v1/floor")
        assert [t["id"] for t in floor["tables"]] == ["12", "1", "2", "3"]  # the file's order
        assert {"x": 20.0, "y": 80.0, "seats": 2}.items() <= floor["tables"][0].items()
    finally:
        assert d.stop() == 0
    assert d.cli("replay").returncode == 0


async def test_an_invalid_file_on_reload_keeps_the_old_floor(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    d = Daemon(tmp_path / "d", broker, tables=3)
    d.start()
    try:
        assert d.proc is not None
        good = d.config.read_text()
        d.config.write_text(good.replace('seats = 4\nsection = "main"\n', "seats = 0\n", 1))
        d.proc.send_signal(signal.SIGHUP)
        await wait_for(lambda: reload_count(d, "invalid") == 1, "the invalid reload counted")
        assert [t["table"] for t in d.get("/api/v1/tables")] == ["1", "2", "3"]
        d.wait_healthy()  # still serving
        log = d.log.read_text()
        assert "config not reloaded: the file is invalid" in log and "seats" in log
    finally:
        assert d.stop() == 0


async def test_the_editor_api_refuses_removing_a_table_with_an_open_check(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    d = Daemon(tmp_path / "d", broker, tables=3)
    d.start()
    try:
        async with Terminal(broker) as pos:
            await pos.send("check.opened", check="77", table="3", guests=2)
            await pos.table("3", "seated")
        before = d.config.read_text()
        tables = d.get("/api/v1/floor")["tables"][:2]
        status, body = put_floor(d, tables)
        assert status == 409
        assert "table 3 has an open check (77)" in body["error"].lower()
        assert d.config.read_text() == before  # nothing written
        assert not list(d.config.parent.glob("floorlink.toml.bak-*"))
        assert [t["table"] for t in d.get("/api/v1/tables")] == ["1", "2", "3"]
        # A free table goes: the file is backed up, rewritten, and the floor reloaded.
        status, body = put_floor(d, [t for t in d.get("/api/v1/floor")["tables"] if t["id"] != "1"])
        assert status == 200, body
        assert body["removed"] == ["1"] and body["backup"]
        assert Path(body["backup"]).read_text() == before  # noqa: ASYNC240 - a small file
        assert [t["table"] for t in d.get("/api/v1/tables")] == ["2", "3"]
        assert 'id = "1"' not in d.config.read_text()
    finally:
        assert d.stop() == 0
