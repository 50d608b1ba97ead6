"""Writing `floorlink.toml` from the page (the floor editor, first-run setup): validate, back up
the previous file, then replace it atomically, keeping its comments and layout.

tomlkit edits the document in place, so a person's comments and the order of keys survive an
edit made in the page. Nothing is written unless the new text passes the same validation as
`floorlink check-config` (parse_config): a refused edit leaves the file as it was. The previous
file is kept as `floorlink.toml.bak-<UTC timestamp>` (the newest KEEP_BACKUPS are kept).

The one API for every writer:
- `load(path)` -> the document; edit it (`set_tables`, or tomlkit's own item access);
- `write(path, doc_or_text)` -> `Written(path, backup, config)`, or ConfigError (nothing written);
- `update(path, edit)` does both around a function that edits the document.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT

from floorlink.daemon.config import Config, ConfigError, parse_config

KEEP_BACKUPS = 10
#: The keys of a [[tables]] entry the floor editor writes, in the order a new table gets them.
TABLE_KEYS = ("id", "name", "seats", "section", "x", "y", "shape", "combine_with", "aliases")


@dataclass(frozen=True, slots=True)
class Written:
    path: Path
    backup: Path | None  # the previous file, or None when there was none
    config: Config  # the new file, validated


def load(path: Path) -> tomlkit.TOMLDocument:
    """The config file as an editable document (ConfigError when it cannot be read or parsed)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"cannot read {path}: {exc.strerror or exc}"]) from None
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError([f"line {exc.line}: {exc}"]) from None


def check(text: str, env: Mapping[str, str] | None = None) -> Config:
    """The text as the daemon would read it, or ConfigError with every problem."""
    return parse_config(text, env)


def _value(key: str, value: Any) -> Any:
    if key in ("x", "y") and isinstance(value, float) and value.is_integer():
        return int(value)  # `x = 8`, as a person writes it
    return list(value) if isinstance(value, tuple) else value


def set_tables(doc: tomlkit.TOMLDocument, tables: Sequence[Mapping[str, Any]]) -> None:
    """Make the document's [[tables]] say `tables` (dicts with TABLE_KEYS; None or an empty
    list or a default leaves a key out). A table that stays keeps its own entry, so the comments
    on it and the keys the editor does not know (aliases typed by hand) stay too."""
    old = doc.get("tables")
    if isinstance(old, AoT):
        aot = old
    else:
        if "tables" in doc:
            del doc["tables"]
        aot = tomlkit.aot()
        doc.append("tables", aot)
        item = doc["tables"]  # the document's own item
        assert isinstance(item, AoT)
        aot = item
    wanted = [str(t["id"]) for t in tables]
    for i in reversed(range(len(aot))):  # removed tables go; the others keep their entries
        if str(aot[i].get("id")) not in wanted:
            del aot[i]
    entries = {str(e.get("id")): e for e in aot}
    for t in tables:
        entry = entries.get(str(t["id"]))
        if entry is None:
            entry = tomlkit.table()
            _fill(entry, t)
            if len(aot) and not aot[-1].as_string().endswith("\n\n"):
                aot[-1].add(tomlkit.nl())  # a blank line between entries, as in the file
            aot.append(entry)
            entries[str(t["id"])] = aot[-1]
        else:
            _fill(entry, t)
    if [str(e.get("id")) for e in aot] != wanted:  # reordered: the same entries, in order
        ordered = [entries[tid] for tid in wanted]
        for i in reversed(range(len(aot))):
            del aot[i]
        for entry in ordered:
            aot.append(entry)


def _fill(entry: Any, t: Mapping[str, Any]) -> None:
    """Set the editor's keys of one [[tables]] entry; an empty value or an unset default
    (section "main", shape "square") is left out, as a person would."""
    for key in TABLE_KEYS:
        if key not in t:
            continue
        value = t[key]
        empty = value is None or (isinstance(value, list | tuple) and not value)
        default = (key == "section" and value == "main") or (key == "shape" and value == "square")
        if empty or (default and key not in entry):
            if key in entry:
                del entry[key]
            continue
        new = _value(key, value)
        if entry.get(key) != new:
            entry[key] = new


def backup(path: Path, now: datetime | None = None) -> Path | None:
    """Copy the file beside itself as `<name>.bak-<UTC timestamp>`; drop the oldest backups
    beyond KEEP_BACKUPS. None when there is no file yet."""
    path = Path(path)
    if not path.exists():
        return None
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.bak-{stamp}")
    shutil.copy2(path, target)
    olds = sorted(path.parent.glob(f"{path.name}.bak-*"))
    for stale in olds[:-KEEP_BACKUPS]:
        with contextlib.suppress(OSError):
            stale.unlink()
    return target


def write(
    path: Path,
    doc: tomlkit.TOMLDocument | str,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Written:
    """Validate, back up the previous file, then replace it atomically (a temporary file in
    the same folder, fsynced, renamed over it, with the old file's mode). ConfigError: nothing
    was written. OSError: the folder cannot be written (the old file is still whole)."""
    path = Path(path)
    text = doc if isinstance(doc, str) else tomlkit.dumps(doc)
    config = check(text, env)
    return Written(path, replace(path, text, now), config)


def replace(path: Path, text: str, now: datetime | None = None) -> Path | None:
    """Back up the previous file, then put `text` in its place atomically (a temporary file in
    the same folder, fsynced, renamed over it, with the old file's mode). The backup's path, or
    None for a first file. The caller has validated `text` (first-run setup, `write`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = backup(path, now)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o640
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the rename itself on disk (an SD card losing power)
        dirfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
    return previous


def restore(path: Path, previous: Path) -> None:
    """Put a backup back (an apply the daemon then refused), as atomically as `write`."""
    tmp = Path(path).with_name(f".{Path(path).name}.restore")
    shutil.copy2(previous, tmp)
    os.replace(tmp, path)


def update(
    path: Path,
    edit: Callable[[tomlkit.TOMLDocument], None],
    env: Mapping[str, str] | None = None,
) -> Written:
    """load -> edit(doc) -> write: the whole edit, validated, with a backup."""
    doc = load(path)
    edit(doc)
    return write(path, doc, env)


def render(path: Path, edit: Callable[[tomlkit.TOMLDocument], None]) -> str:
    """The text an edit would write, without writing it (for a validate step)."""
    doc = load(path)
    edit(doc)
    return tomlkit.dumps(doc)
