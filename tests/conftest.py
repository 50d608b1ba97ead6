"""Shared fixtures: a real Mosquitto on a free loopback port for every test that asks for one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from floorlink.daemon.broker import EmbeddedBroker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    b = EmbeddedBroker(tmp_path / "mosquitto")
    b.start()
    yield b
    b.stop()
