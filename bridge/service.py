"""The cloud bridge as one part of the daemon: the pusher, the puller, and their shared state."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from floorlink.bridge.client import CloudClient
from floorlink.bridge.pull import Puller
from floorlink.bridge.push import Pusher
from floorlink.bridge.reservations import ReservationsPart
from floorlink.daemon.core.state import State
from floorlink.daemon.engine import Engine

if TYPE_CHECKING:
    from floorlink.daemon.config import Config


def _cursor(state: State) -> str | None:
    part = state.part("reservations")
    assert isinstance(part, ReservationsPart)
    return part.cursor


class CloudBridge:
    def __init__(self, engine: Engine, config: Config, on_state: Callable[[bool], None]) -> None:
        cloud = config.cloud
        assert cloud is not None and cloud.token is not None
        self.client = CloudClient(
            cloud.url, cloud.token.get_secret_value(), config.site.id, cloud.timeout_seconds
        )
        self.up = False
        self._on_state = on_state
        self.pusher = Pusher(engine, self.client, self._state)
        self.puller = Puller(engine, self.client, cloud.pull_interval_seconds, _cursor, self._state)

    def _state(self, up: bool) -> None:
        if up and not self.up:
            # The cloud is back: pull at once, and push what queued meanwhile.
            self.puller.wake()
            self.pusher.wake()
        if up != self.up:
            self.up = up
            self._on_state(up)

    def tasks(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        return [
            ("floorlink.bridge.push", self.pusher.run()),
            ("floorlink.bridge.pull", self.puller.run()),
        ]

    async def close(self) -> None:
        await self.client.close()
