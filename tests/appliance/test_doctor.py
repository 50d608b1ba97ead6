"""`floorlink doctor` explains each check in plain words and fails when one fails."""

from __future__ import annotations

from pathlib import Path

from support import Daemon

from floorlink.daemon.broker import EmbeddedBroker
from floorlink.drivers.pty_transmitter import PtyTransmitter


async def test_doctor_reports_each_check(tmp_path: Path, broker: EmbeddedBroker) -> None:
    pager = tmp_path / "pager"
    d = Daemon(tmp_path / "d", broker, extra=f'[pager]\nport = "{pager}"\n')
    (tmp_path / "d").mkdir(exist_ok=True)
    missing = d.cli("doctor")
    assert missing.returncode == 1
    assert "ok    broker" in missing.stdout and "FAIL  pager port" in missing.stdout
    assert "ls -l /dev/serial/by-id/" in missing.stdout
    tx = PtyTransmitter(pager)
    tx.plug()
    present = d.cli("doctor")
    tx.close()
    assert "ok    pager port" in present.stdout and "ok    store" in present.stdout
    assert "ok    staff PIN" in present.stdout and "ok    secrets" in present.stdout
    # What doctor cannot tell (the clock, in a container without timedatectl) is not a failure.
    if "FAIL" not in present.stdout:
        assert present.returncode == 0, present.stdout
    broker.stop()
    down = d.cli("doctor")
    assert "FAIL  broker" in down.stdout and "mosquitto" in down.stdout
