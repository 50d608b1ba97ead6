"""The cloud's HTTP API (contract section 6), and the two kinds of failure the bridge tells apart.

Only the configured host is ever contacted (redirects are refused), certificates are verified
(aiohttp's default), and the token goes only into the Authorization header, never into a log.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from floorlink.daemon.core.timeutil import parse_rfc3339


class CloudError(Exception):
    """Something went wrong talking to the cloud."""


class TransientError(CloudError):
    """Worth retrying: timeouts, connection errors, 429, 5xx, garbage answers."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(CloudError):
    """A 4xx that retrying cannot fix."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


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
