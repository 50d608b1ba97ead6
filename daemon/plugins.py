"""Plug-in points: a registry per kind of edge, each entry with its own validated options.

bellows keeps one options schema per radio protocol version and validates the config section
against the one named; here every registry entry is a `Plugin`: a name, a pydantic model of the
options it takes under its config section, and a factory. The registries below list their entries
as import paths, so loading the config imports only the plug-ins it names, and adding one is its
own module plus one line here. A test registers a dummy with `REGISTRY.register(plugin)` without
touching this file.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

F = TypeVar("F")


class Options(BaseModel):
    """Base of every plug-in's options: unknown keys are errors, values are not coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


@dataclass(frozen=True, slots=True)
class Plugin(Generic[F]):
    """One implementation: its registry name, its options model, and its factory."""

    name: str
    options: type[BaseModel]
    factory: F
    summary: str = ""
    #: A pager protocol that pages phone numbers (text messages) rather than coaster numbers.
    texts: bool = False


class Registry(Generic[F]):
    """name -> Plugin, loaded lazily from "module:attribute" paths."""

    def __init__(self, kind: str, entries: Mapping[str, str]) -> None:
        self.kind = kind
        self._paths = dict(entries)
        self._loaded: dict[str, Plugin[F]] = {}

    def register(self, plugin: Plugin[F]) -> None:
        self._loaded[plugin.name] = plugin

    def unregister(self, name: str) -> None:
        self._loaded.pop(name, None)

    def names(self) -> list[str]:
        return sorted(set(self._paths) | set(self._loaded))

    def __contains__(self, name: object) -> bool:
        return name in self._paths or name in self._loaded

    def get(self, name: str) -> Plugin[F]:
        if name in self._loaded:
            return self._loaded[name]
        if name not in self._paths:
            raise KeyError(f"no {self.kind} named {name!r}: expected one of {self.names()}")
        module, _, attr = self._paths[name].partition(":")
        plugin: Plugin[F] = getattr(importlib.import_module(module), attr)
        if plugin.name != name:
            raise ValueError(f"{self._paths[name]} is named {plugin.name!r}, not {name!r}")
        self._loaded[name] = plugin
        return plugin

    def options(self, name: str, raw: Mapping[str, Any]) -> BaseModel:
        """Validate `raw` against the plug-in's options model (pydantic.ValidationError)."""
        return self.get(name).options.model_validate(dict(raw))


#: POS and other check-event sources beside MQTT: `[[inputs]]` entries, by `kind`.
INPUT_SOURCES: Registry[Any] = Registry(
    "input source",
    {
        "square": "floorlink.drivers.square:PLUGIN",
        "toast": "floorlink.drivers.toast:PLUGIN",
        "receipt-tcp": "floorlink.daemon.receipt_tcp:PLUGIN",
        "receipt-serial": "floorlink.daemon.receipt_serial:PLUGIN",
    },
)

#: Pager transmitter protocols: `[pager] protocol`.
PAGER_PROTOCOLS: Registry[Any] = Registry(
    "pager protocol",
    {
        "lrs": "floorlink.drivers.pagers.lrs:PLUGIN",
        "lrs-t74": "floorlink.drivers.pagers.lrs_t74:PLUGIN",
        "jtech": "floorlink.drivers.pagers.jtech:PLUGIN",
        "waveware": "floorlink.drivers.pagers.waveware:PLUGIN",
        "tap": "floorlink.drivers.pagers.tap:PLUGIN",
        "rps-http": "floorlink.drivers.pagers.rps_http:PLUGIN",
        "sms": "floorlink.drivers.pagers.sms:PLUGIN",
    },
)

#: Cloud reservation systems: `[cloud] provider`.
RESERVATION_PROVIDERS: Registry[Any] = Registry(
    "reservation provider",
    {
        "floorlink": "floorlink.bridge.client:PLUGIN",
        "resos": "floorlink.bridge.resos:PLUGIN",
    },
)
