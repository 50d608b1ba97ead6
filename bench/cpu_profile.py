"""Where the daemon's CPU goes, from py-spy sampling the running process (no change to it):
the profile that says why a CPU target is out of reach on Python.

py-spy (a dev dependency) reads the interpreter's stacks from outside, 100 times a second, busy
samples only. The summary: each thread's share, the modules and functions where samples end
(self time), and the share of samples passing through each named layer (inclusive).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

#: Layers named by a path fragment of their frames' files (inclusive shares).
LAYERS = {
    "paho-mqtt": "paho/",
    "aiomqtt": "aiomqtt/",
    "asyncio": "asyncio/",
    "json": "json/",
    "pydantic": "pydantic",
    "drivers/mqtt.py (broker link)": "drivers/mqtt.py",
    "daemon/engine.py (writer)": "daemon/engine.py",
    "daemon/store.py (SQLite)": "daemon/store.py",
    "daemon/core (decide + fold)": "daemon/core/",
    "structlog": "structlog/",
    "prometheus_client": "prometheus_client/",
}


def spy() -> str | None:
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")


def record(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    """Start sampling `pid` for `seconds` into `out` (None when py-spy is not installed)."""
    exe = spy()
    if exe is None:
        return None
    args = [exe, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "100"]
    args += ["--format", "raw", "--threads", "--nonblocking", "-o", str(out)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _where(frame: str) -> tuple[str, str]:
    """'func (path/file.py:12)' -> ('func (path/file.py)', 'path/file.py')."""
    name, _, loc = frame.rpartition(" (")
    path = loc.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({path})", path


def summarize(raw: Path, top: int = 12) -> dict[str, Any]:
    threads: Counter[str] = Counter()
    selves: Counter[str] = Counter()
    files: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        thread = frames[0].split(": ", 1)[-1]
        threads["store thread" if thread.startswith("floorlink-store") else thread] += count
        leaf, path = _where(frames[-1])
        selves[leaf] += count
        files[path] += count
        for layer, fragment in LAYERS.items():
            if any(fragment in f for f in frames[1:]):
                layers[layer] += count
    if not total:
        return {"samples": 0}

    def shares(c: Counter[str], n: int) -> dict[str, float]:
        return {k: round(v / total, 3) for k, v in c.most_common(n)}

    return {
        "samples": total,
        "threads": shares(threads, 6),
        "self_by_function": shares(selves, top),
        "self_by_file": shares(files, top),
        "inclusive_by_layer": shares(layers, len(LAYERS)),
    }
