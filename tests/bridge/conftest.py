"""The scriptable loopback cloud, for every bridge test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fake_cloud import FakeCloud


@pytest.fixture
async def cloud() -> AsyncIterator[FakeCloud]:
    c = FakeCloud()
    await c.start()
    yield c
    await c.stop()
