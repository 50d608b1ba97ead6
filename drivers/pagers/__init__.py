"""Pager transmitter protocols. A new protocol is one module here exporting `PLUGIN` and one
line in `daemon.plugins.PAGER_PROTOCOLS`; `PROTOCOLS` is that registry."""

from __future__ import annotations

from typing import Any

from floorlink.daemon.plugins import PAGER_PROTOCOLS
from floorlink.drivers.pagers.base import (
    Ack,
    Answer,
    AnswerDecoder,
    Busy,
    Decoder,
    Delivery,
    FrameError,
    Link,
    Nak,
    Page,
    PagerProtocol,
    Transmitted,
)

PROTOCOLS = PAGER_PROTOCOLS


def make_protocol(name: str, **options: Any) -> PagerProtocol:
    """The protocol `name` with its options validated by its own model (pydantic errors)."""
    plugin = PAGER_PROTOCOLS.get(name)
    protocol: PagerProtocol = plugin.factory(plugin.options.model_validate(options))
    return protocol


__all__ = [
    "PROTOCOLS",
    "Ack",
    "Answer",
    "AnswerDecoder",
    "Busy",
    "Decoder",
    "Delivery",
    "FrameError",
    "Link",
    "Nak",
    "Page",
    "PagerProtocol",
    "Transmitted",
    "make_protocol",
]
