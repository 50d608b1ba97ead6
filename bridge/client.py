"""The cloud's HTTP API (contract section 6), and the two kinds of failure the bridge tells apart.

Only the configured host is ever contacted (redirects are refused), certificates are verified
(aiohttp's default), and the token goes only into the Authorization header, never into a log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from floorlink.bridge.errors import CloudError, PermanentError, TransientError
from floorlink.bridge.provider import Page as ProviderPage
from floorlink.bridge.provider import ProviderContext
from floorlink.daemon.core.timeutil import parse_rfc3339
from floorlink.daemon.plugins import Options, Plugin

__all__ = ["CloudClient", "CloudError", "FloorlinkProvider", "PermanentError", "TransientError"]


class Guest(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    vip: bool | None = None
    notes: str | None = None
    allergies: str | None = None
    birthday: str | None = None


class Reservation(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, max_length=128)
    status: str
    time: str
    party_size: int = Field(ge=1, le=500)
    table: str | None = None
    source: str | None = None
    guest: Guest = Field(default_factory=Guest)
    updated_at: str | None = None

    def checked(self) -> Reservation:
        parse_rfc3339(self.time)
        return self


class Page(BaseModel):
    model_config = ConfigDict(extra="allow")
    reservations: list[Reservation]
    cursor: str | None = None


def _retry_after(resp: aiohttp.ClientResponse) -> float | None:
    value = resp.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class CloudClient:
    def __init__(self, url: str, token: str, site: str, timeout: float = 10.0) -> None:
        self.base = url.rstrip("/")
        self.site = site
        self._headers = {"Authorization": f"Bearer {token}", "User-Agent": "floorlink/1"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # never the token
        return f"CloudClient({self.base!r}, site={self.site!r})"

    def _s(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _request(self, method: str, path: str, **kw: Any) -> tuple[int, bytes]:
        try:
            async with self._s().request(
                method, f"{self.base}{path}", allow_redirects=False, **kw
            ) as resp:
                body = await resp.read()
                if resp.status == 429 or resp.status >= 500:
                    raise TransientError(f"the cloud answered {resp.status}", _retry_after(resp))
                if 300 <= resp.status < 400:
                    raise PermanentError(resp.status, "the cloud redirected; redirects are refused")
                return resp.status, body
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"cannot reach the cloud: {type(exc).__name__} {exc}") from exc

    async def reservations(self, cursor: str | None) -> Page:
        params = {"cursor": cursor} if cursor else {}
        status, body = await self._request(
            "GET", f"/v1/sites/{self.site}/reservations", params=params
        )
        if status >= 400:
            raise PermanentError(status, body[:200].decode(errors="replace"))
        try:
            page = Page.model_validate_json(body)
            for r in page.reservations:
                r.checked()
        except (ValidationError, ValueError) as exc:
            raise TransientError(f"the cloud answered garbage: {str(exc)[:200]}") from exc
        return page

    async def push(self, events: Sequence[dict[str, Any]]) -> int:
        """POST a batch; returns the status (2xx or 409, both meaning taken)."""
        status, body = await self._request(
            "POST",
            f"/v1/sites/{self.site}/events",
            data=json.dumps({"events": list(events)}, separators=(",", ":")),
            headers={"Content-Type": "application/json"},
        )
        if status == 409 or 200 <= status < 300:
            return status
        raise PermanentError(status, body[:200].decode(errors="replace"))


# ---- the `floorlink` reservation provider: today's contract cloud, unchanged ---------------


class FloorlinkOptions(Options):
    """No options of its own: `[cloud] url` and `token` are the whole of it."""


class FloorlinkProvider:
    """Contract section 6 as a `ReservationProvider`: the cloud pages changes by cursor."""

    name = "floorlink"
    cannot_supply: frozenset[str] = frozenset()
    min_interval_s = 0.5

    def __init__(self, client: CloudClient, context: ProviderContext | None = None) -> None:
        self.client = client
        self.context = context

    def _table(self, record: dict[str, Any]) -> dict[str, Any]:
        """The contract's table as this site's id when it is an alias ("T12" -> "12"); a name
        that matches nothing is kept as sent (never held) and counted."""
        table = record.get("table")
        if self.context is None or table is None:
            return record
        tid = self.context.names.resolve(str(table))
        if tid is None:
            self.context.on_rejection(
                f"reservation {record.get('id')}: table {table!r} matches no table"
            )
            return record
        return {**record, "table": tid}

    def __repr__(self) -> str:
        return f"FloorlinkProvider({self.client!r})"

    async def pull(self, cursor: str | None) -> ProviderPage:
        page = await self.client.reservations(cursor)
        return ProviderPage(
            [self._table(r.model_dump(exclude_none=True)) for r in page.reservations],
            page.cursor,
            more=bool(page.reservations),
        )

    async def push(self, events: Sequence[Mapping[str, Any]]) -> None:
        await self.client.push([dict(e) for e in events])

    async def close(self) -> None:
        await self.client.close()


def _floorlink(options: FloorlinkOptions, context: ProviderContext) -> FloorlinkProvider:
    return FloorlinkProvider(
        CloudClient(context.url, context.token, context.site, context.timeout_s), context
    )


PLUGIN: Plugin[Any] = Plugin("floorlink", FloorlinkOptions, _floorlink, "the contract cloud")
