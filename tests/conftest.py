"""Shared fixtures: a real Mosquitto on a free loopback port, and the daemon as a real process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import Daemon

from floorlink.daemon.broker import EmbeddedBroker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    b = EmbeddedBroker(tmp_path / "mosquitto")
    b.start()
    yield b
    b.stop()


@pytest.fixture
def daemon(tmp_path: Path, broker: EmbeddedBroker) -> Iterator[Daemon]:
    d = Daemon(tmp_path / "daemon", broker)
    d.start()
    yield d
    d.kill()
