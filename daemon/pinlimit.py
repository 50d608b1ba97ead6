"""The wrong-PIN limit: per client, growing with each failure, never global.

A client (one address) gets `free` wrong PINs; each wrong PIN after that locks that client out
for twice as long as the last time (60 s, 2 min, 4 min, ... up to 1 h). Other clients are never
affected, so nobody on the LAN can lock the host stand out; paired tablets need no PIN at all.
A right PIN clears the client's record. Records of quiet clients are forgotten, and the map is
bounded, so a flood of addresses cannot grow memory.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

FIRST_LOCK_S = 60.0
MAX_LOCK_S = 3600.0
FORGET_S = 24 * 3600.0
MAX_CLIENTS = 10_000


@dataclass(slots=True)
class _Client:
    failures: int = 0
    locked_until: float = 0.0
    last: float = 0.0


class PinLimiter:
    def __init__(self, free: int = 5) -> None:
        self.free = max(1, free)
        self._clients: OrderedDict[str, _Client] = OrderedDict()

    def wait(self, client: str, now: float) -> int:
        """Seconds this client must wait before trying a PIN (0: it may try now)."""
        record = self._get(client, now)
        if record is None or now >= record.locked_until:
            return 0
        return max(1, math.ceil(record.locked_until - now))

    def failed(self, client: str, now: float) -> float:
        """Count a wrong PIN; returns the lock it starts in seconds (0: none yet)."""
        record = self._get(client, now) or self._add(client)
        record.failures += 1
        record.last = now
        over = record.failures - self.free
        if over < 0:
            return 0.0
        lock: float = min(MAX_LOCK_S, FIRST_LOCK_S * float(2 ** min(over, 16)))
        record.locked_until = now + lock
        return lock

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)

    def locked(self, now: float) -> int:
        """How many clients are locked out now (a gauge for alerts)."""
        return sum(1 for c in self._clients.values() if c.locked_until > now)

    def _get(self, client: str, now: float) -> _Client | None:
        record = self._clients.get(client)
        if record is not None and now - record.last > FORGET_S and now >= record.locked_until:
            del self._clients[client]
            return None
        return record

    def _add(self, client: str) -> _Client:
        while len(self._clients) >= MAX_CLIENTS:
            self._clients.popitem(last=False)  # the oldest record goes first
        record = self._clients[client] = _Client()
        return record
