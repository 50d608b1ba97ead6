"""POS terminal administration from the host stand: list, add and remove broker logins.

The broker's password file is the list of terminals (daemon/terminals.py edits it, as
`floorlink add-terminal` does); after a change the broker is told to reload, when the config
allows it. Without `mqtt.passwd_file` the page can only show the terminals that sent something.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from floorlink.daemon.service import JSON, CommandResult
from floorlink.daemon.terminal_activity import TerminalActivity
from floorlink.daemon.terminals import (
    NAME_RE,
    add_terminal,
    list_terminals,
    reload_broker,
    remove_terminal,
    terminal_topics,
)

if TYPE_CHECKING:
    from floorlink.daemon.config import Mqtt

log = structlog.get_logger(__name__)


class TerminalAdmin:
    def __init__(self, mqtt: Mqtt, activity: TerminalActivity) -> None:
        self.mqtt = mqtt
        self.activity = activity

    def _passwd(self) -> Path | None:
        path = self.mqtt.passwd_file
        return Path(path) if path else None

    def terminals(self) -> list[JSON]:
        """The POS terminals: those the broker's password file names and those that sent
        something since the start, each with its last event and its errors."""
        passwd = self._passwd()
        known = list_terminals(passwd) if passwd is not None else []
        return self.activity.view(known)

    @staticmethod
    def _no_passwd() -> CommandResult:
        return CommandResult(
            False,
            status=409,
            error="Terminals are managed with `floorlink add-terminal` on this box"
            " (set mqtt.passwd_file to manage them here).",
        )

    async def add(self, name: str) -> CommandResult:
        """`floorlink add-terminal` from the page: a new broker password for the terminal,
        shown once, and what to type into the POS."""
        passwd = self._passwd()
        if passwd is None:
            return self._no_passwd()
        if not NAME_RE.match(name):
            return CommandResult(False, status=422, error="name: 1-64 letters, digits, - or _")
        try:
            password = await asyncio.to_thread(add_terminal, name, passwd)
        except ValueError as exc:
            return CommandResult(False, status=422, error=str(exc))
        except (RuntimeError, OSError) as exc:
            log.error("could not add a terminal", terminal=name, error=str(exc))
            return CommandResult(False, status=503, error=f"Could not add the terminal: {exc}")
        reloaded = await self._reload_broker()
        log.info("terminal added from the host stand", terminal=name, broker_reloaded=reloaded)
        host = socket.gethostname().split(".")[0] + ".local"
        body: JSON = {
            "terminal": name,
            "password": password,
            "host": host,
            "port": self.mqtt.port,
            "client_id": f"pos-{name}",
            "topics": terminal_topics(name),
            "broker_reloaded": reloaded,
        }
        return CommandResult(True, body=body)

    async def remove(self, name: str) -> CommandResult:
        passwd = self._passwd()
        if passwd is None:
            return self._no_passwd()
        if name not in list_terminals(passwd):
            return CommandResult(False, status=404, error=f"There is no terminal {name}.")
        try:
            await asyncio.to_thread(remove_terminal, name, passwd)
        except ValueError as exc:  # a role's name, or gone meanwhile
            return CommandResult(False, status=404, error=str(exc))
        except (RuntimeError, OSError) as exc:
            log.error("could not remove a terminal", terminal=name, error=str(exc))
            return CommandResult(False, status=503, error=f"Could not remove the terminal: {exc}")
        reloaded = await self._reload_broker()
        self.activity.forget(name)
        log.info("terminal removed from the host stand", terminal=name, broker_reloaded=reloaded)
        return CommandResult(True, body={"terminal": name, "broker_reloaded": reloaded})

    async def _reload_broker(self) -> bool:
        if not self.mqtt.reload_broker:
            return False
        return await asyncio.to_thread(reload_broker)
