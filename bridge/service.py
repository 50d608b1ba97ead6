"""The cloud bridge as one part of the daemon: the configured reservation provider, and the
pusher and puller `Component`s (supervised by the App) that share its up/down state."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import structlog

from floorlink.bridge.provider import ProviderContext, ProviderFactory, ReservationProvider
from floorlink.bridge.pull import Puller
from floorlink.bridge.push import Pusher
from floorlink.daemon import metrics
from floorlink.daemon.core.reservations import ReservationsPart
from floorlink.daemon.core.state import State
from floorlink.daemon.engine import Engine
from floorlink.daemon.plugins import RESERVATION_PROVIDERS, Plugin

if TYPE_CHECKING:
    from floorlink.daemon.config import Config

log = structlog.get_logger(__name__)

#: How long a host action naming an unknown reservation waits for an on-demand pull.
PULL_ON_DEMAND_S = 3.0


def _cursor(state: State) -> str | None:
    part = state.part("reservations")
    assert isinstance(part, ReservationsPart)
    return part.cursor


def make_provider(config: Config, on_rejection: Callable[[str], None]) -> ReservationProvider:
    cloud = config.cloud
    assert cloud is not None and cloud.token is not None
    plugin: Plugin[ProviderFactory] = RESERVATION_PROVIDERS.get(cloud.provider)
    context = ProviderContext(
        site=config.site.id,
        tz=ZoneInfo(config.site.timezone),
        names=config.table_names,
        url=cloud.url,
        token=cloud.token.get_secret_value(),
        timeout_s=cloud.timeout_seconds,
        on_rejection=on_rejection,
    )
    return plugin.factory(cloud.options(), context)


class CloudBridge:
    def __init__(self, engine: Engine, config: Config, on_state: Callable[[bool], None]) -> None:
        cloud = config.cloud
        assert cloud is not None
        self.rejections = 0
        self.last_rejection = ""
        self.provider = make_provider(config, self._rejected)
        self.up = False
        self._on_state = on_state
        self.pusher = Pusher(engine, self.provider, self._state)
        self.puller = Puller(
            engine, self.provider, cloud.pull_interval_seconds, _cursor, self._state
        )

    @property
    def components(self) -> list[Any]:
        return [self.pusher, self.puller]

    def _rejected(self, reason: str) -> None:
        """The vendor named something this site cannot place (a table it does not have)."""
        self.rejections += 1
        self.last_rejection = reason
        metrics.INTEGRATION_REJECTIONS.labels(f"cloud:{self.provider.name}").inc()
        log.warning("reservation provider rejection", provider=self.provider.name, reason=reason)

    def _state(self, up: bool) -> None:
        if up and not self.up:
            # The cloud is back: pull at once, and push what queued meanwhile.
            self.puller.wake()
            self.pusher.wake()
        if up != self.up:
            self.up = up
            self._on_state(up)

    async def pull_now(self) -> bool:
        return await self.puller.pull_now(PULL_ON_DEMAND_S)

    async def close(self) -> None:
        await self.provider.close()
