"""`floorlink receipts capture` records print jobs while they still print; `floorlink receipts
test` replays a capture and shows the events and the pattern behind each field."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from receipt_support import FakePrinter, print_job, receipt_input, render, sample_check, sha
from support import write_config

from floorlink.daemon.broker import free_port
from floorlink.daemon.cli import main
from floorlink.daemon.config import load_config
from floorlink.daemon.receipts_cli import capture


async def _connectable(port: int) -> None:
    for _ in range(500):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.01)
            continue
        writer.close()
        return
    raise AssertionError("the capture proxy never listened")


async def test_capture_records_jobs_while_they_print(tmp_path: Path) -> None:
    printer = FakePrinter()
    await printer.start()
    listen = free_port()
    extra = receipt_input(printer.port).replace("listen_port = 0", f"listen_port = {listen}")
    config = load_config(write_config(tmp_path / "floorlink.toml", 1883, free_port(), 12, extra))
    jobs = [
        render("bistro", "kitchen", sample_check(), "apps"),
        render("bistro", "check", sample_check()),
    ]
    task = asyncio.create_task(capture(config, tmp_path / "cap", None, 2))
    try:
        await _connectable(listen)
        for job in jobs:
            await print_job(listen, job)
        await asyncio.wait_for(task, 20)
    finally:
        task.cancel()
        await printer.stop()
    assert sha(b"".join(bytes(j) for j in printer.jobs[-2:])) == sha(b"".join(jobs))
    files = sorted((tmp_path / "cap").iterdir())
    assert len(files) == 2  # one file per print job (the probe connection sent nothing)
    assert sha(b"".join(f.read_bytes() for f in files)) == sha(b"".join(jobs))


def test_replay_prints_events_and_the_patterns_behind_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = receipt_input(9100)
    path = write_config(tmp_path / "floorlink.toml", 1883, 8080, 12, extra)
    check = sample_check()
    data = (
        render("bistro", "kitchen", check, "apps")
        + render("bistro", "receipt", check)
        + render("bistro", "check", sample_check(table="99"))
        + b"\x1bt\x10Table 3\nnot a receipt"
    )
    (tmp_path / "job.bin").write_bytes(data)
    assert main(["receipts", "test", "--config", str(path), str(tmp_path / "job.bin")]) == 0
    out = capsys.readouterr().out
    assert "document 1:" in out and ": kitchen" in out
    assert "check    = 1042" in out and "matched by /Check #(\\d+)/" in out
    assert "-> check.opened id=" in out and '"table": "12"' in out
    assert "-> check.course_fired" in out and '"course": "apps"' in out
    assert "-> check.closed" in out and '"total": "159.00"' in out and '"tip": "8.00"' in out
    assert "REJECTED: table '99' is not in this site's config" in out
    assert "ended by end of capture: not recognised" in out
    assert out.strip().endswith("4 document(s), 4 event(s)")
