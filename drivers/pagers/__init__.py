"""Pager transmitter protocols. A new protocol is one module here and one line in PROTOCOLS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from floorlink.drivers.pagers.base import Decoder, FrameError, Page, PagerProtocol
from floorlink.drivers.pagers.lrs import LrsProtocol

#: name -> factory taking the `[pager]` config's protocol options
PROTOCOLS: dict[str, Callable[..., PagerProtocol]] = {
    "lrs": LrsProtocol,
}


def make_protocol(name: str, **options: Any) -> PagerProtocol:
    return PROTOCOLS[name](**options)


__all__ = ["PROTOCOLS", "Decoder", "FrameError", "Page", "PagerProtocol", "make_protocol"]
