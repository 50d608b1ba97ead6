"""Fixtures for tests that run the whole daemon against a real Mosquitto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import Daemon

from floorlink.daemon.broker import EmbeddedBroker


@pytest.fixture
def daemon(tmp_path: Path, broker: EmbeddedBroker) -> Iterator[Daemon]:
    d = Daemon(tmp_path / "daemon", broker)
    d.start()
    yield d
    d.kill()
