"""Input sources: anything that turns outside facts into core inputs (receipt capture, cloud-POS
pollers, ...). MQTT POS intake is the built-in one.

A source is a `Component` made by its plug-in's factory from `(name, options, context)`. It hands
each input to `context.submit` and gets back a future resolved after the commit, with the outcome
(accepted / duplicate / rejected and why); it never touches the store. Its inputs carry the source
`{kind}:{name}` (e.g. `receipt:kitchen`) so ids from two sources never collide.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from floorlink.daemon.component import Component
from floorlink.daemon.core.state import Input
from floorlink.daemon.engine import Committed, RejectInput
from floorlink.daemon.names import TableNames
from floorlink.daemon.plugins import INPUT_SOURCES, Plugin

Submit = Callable[[Input | RejectInput], "asyncio.Future[Committed]"]


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What a source may use: the intake, the site's clock zone and tables, the box clock
    (epoch ms) for stamping facts that carry no time of their own, the table names (ids and
    `aliases`) to resolve what a vendor calls a table, and `status_changed` to say at once that
    what it shows on the stand changed (a poller gone blind or back, a record it rejected), so
    the stand shows it without waiting."""

    submit: Submit
    tz: ZoneInfo
    tables: tuple[str, ...]
    clock: Callable[[], int]
    names: TableNames = field(default_factory=lambda: TableNames(()))
    status_changed: Callable[[], None] = lambda: None

    def resolve_table(self, name: str | None) -> str | None:
        """The table id a vendor's table name stands for, or None (a counted rejection)."""
        if not self.names.ids:
            return name if name in self.tables else None
        return self.names.resolve(name)


class SourceFactory(Protocol):
    def __call__(self, name: str, options: Any, context: SourceContext) -> Component: ...


def make_source(kind: str, name: str, options: Any, context: SourceContext) -> Component:
    plugin: Plugin[SourceFactory] = INPUT_SOURCES.get(kind)
    return plugin.factory(name, options, context)
