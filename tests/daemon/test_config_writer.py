"""daemon/config_writer.py: the page's edits keep the file's comments, back up the previous
file, and write nothing that `floorlink check-config` would refuse."""

from __future__ import annotations

import tomllib
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from floorlink.daemon import config_writer
from floorlink.daemon.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
ENV = {"FLOORLINK_STAFF_TOKEN": "a-staff-token-for-tests"}


@pytest.fixture
def example(tmp_path: Path) -> Path:
    path = tmp_path / "floorlink.toml"
    path.write_text((ROOT / "config" / "floorlink.example.toml").read_text())
    return path


def set_tables(doc: Any, tables: list[dict[str, object]]) -> None:
    config_writer.set_tables(doc, tables)


def tables_of(path: Path) -> list[dict[str, object]]:
    return list(tomllib.loads(path.read_text())["tables"])


def test_moving_adding_and_removing_tables_keeps_every_comment(example: Path) -> None:
    before = example.read_text()
    tables = tables_of(example)
    tables[0]["x"] = 12.5  # moved
    tables[3]["seats"] = 8  # reseated
    del tables[2]  # removed (3), and 2 no longer combines with it
    tables[1]["combine_with"] = []
    tables.append({"id": "26", "seats": 4, "x": 50.0, "y": 95.0, "shape": "round", "name": "Bar"})
    written = config_writer.update(example, lambda d: config_writer.set_tables(d, tables), ENV)
    after = example.read_text()
    comments = [line.strip() for line in before.splitlines() if line.strip().startswith("#")]
    assert comments and all(c in after for c in comments)
    assert written.backup is not None and written.backup.read_text() == before
    assert written.backup.name.startswith("floorlink.toml.bak-")
    got = {t["id"]: t for t in tables_of(example)}
    assert "3" not in got and got["1"]["x"] == 12.5 and got["4"]["seats"] == 8
    assert got["26"] == {
        "id": "26", "name": "Bar", "seats": 4, "x": 50, "y": 95, "shape": "round"
    }  # fmt: skip
    assert "combine_with" not in got["2"]
    assert load_config(example, ENV).table("26").name == "Bar"
    # Only what changed changed: the other lines are as they were.
    untouched = [line for line in before.splitlines() if line.startswith(("[site]", 'id = "5"'))]
    assert all(line in after.splitlines() for line in untouched)


def test_an_invalid_edit_writes_nothing(example: Path) -> None:
    before = example.read_text()
    tables = tables_of(example)
    tables[0]["combine_with"] = ["no-such-table"]
    with pytest.raises(ConfigError) as exc:
        config_writer.update(example, lambda d: config_writer.set_tables(d, tables), ENV)
    assert any("combine_with" in line for line in exc.value.described)
    assert example.read_text() == before
    assert not list(example.parent.glob("*.bak-*"))


def test_backups_are_kept_to_a_few_and_the_mode_stays(example: Path) -> None:
    example.chmod(0o640)
    for n in range(config_writer.KEEP_BACKUPS + 3):
        tables = tables_of(example)
        tables[0]["seats"] = n + 1
        config_writer.update(example, partial(set_tables, tables=tables), ENV)
    assert len(list(example.parent.glob("floorlink.toml.bak-*"))) == config_writer.KEEP_BACKUPS
    assert example.stat().st_mode & 0o777 == 0o640
