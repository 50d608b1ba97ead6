"""docs/bench-latency.png: publish -> retained table state against the offered load, the
daemon beside its floors, from one run's results (matplotlib, a dev dependency)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on the box or in CI

import matplotlib.pyplot as plt


def _series(rows: dict[str, Any], key: str | None, stat: str) -> tuple[list[int], list[float]]:
    xs: list[int] = []
    ys: list[float] = []
    for rate, row in sorted(rows.items(), key=lambda kv: int(kv[0])):
        s = row.get(key, {}) if key else row
        if s.get("n"):
            xs.append(int(rate))
            ys.append(max(float(s[stat]), 0.01))
    return xs, ys


def draw(r: dict[str, Any], path: Path) -> None:
    fast, floors, sd = r["fast_disk"]["rates"], r["floors"], r["sd_card"]["rates"]
    lines: list[tuple[str, dict[str, Any], str | None, str]] = [
        ("Floorlink -> retained state", fast, "to_state", "tab:blue"),
        ("Floorlink -> ack", fast, "to_ack", "tab:cyan"),
        (f"Floorlink, SD card ({r['sd_card']['fsync_ms']:g} ms fsync)", sd, "to_state", "tab:red"),
        ("naive one-commit-per-event pipeline", floors["naive"]["rates"], "to_state", "tab:olive"),
        ("echo floor (broker only)", floors["echo"], None, "tab:gray"),
    ]
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    for label, rows, key, colour in lines:
        for stat, style in (("p99_ms", "-"), ("p50_ms", ":")):
            xs, ys = _series(rows, key, stat)
            tag = label if stat == "p99_ms" else None
            ax.plot(xs, ys, style, marker="o", color=colour, label=tag, markersize=4)
    ax.axhline(20, color="black", linewidth=0.8, linestyle="--", label="target p99 20 ms")
    ax.set_xscale("log")
    ax.set_yscale("log")
    rates = sorted(int(k) for k in fast)
    ax.set_xticks(rates, [f"{x:,}" for x in rates])
    ax.set_xlabel("events/s offered (check lifecycles, 32 tables, 5 terminals)")
    ax.set_ylabel("latency, ms (solid p99, dotted p50)")
    m = r["machine"]
    ax.set_title(
        f"Floorlink make bench {r['when'][:10]}: {m['cpus']} cpus, Python {m['python']}, "
        f"load average {m['loadavg_at_start'][0]} -> {m.get('loadavg_at_end', ['?'])[0]}"
        + (" (quick)" if r.get("quick") else ""),
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    import json
    import sys

    draw(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
