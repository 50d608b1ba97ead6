"""The cloud's HTTP API (contract section 6), and the two kinds of failure the bridge tells apart.

Only the configured host is ever contacted (redirects are refused), certificates are verified
(aiohttp's default), and the token goes only into the Authorization header, never into a log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import aiohttp
import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from floorlink.bridge.errors import CloudError, PermanentError, TransientError
from floorlink.bridge.provider import Page as ProviderPage
from floorlink.bridge.provider import ProviderContext
from floorlink.daemon import metrics
from floorlink.daemon.core.timeutil import parse_rfc3339
from floorlink.daemon.logs import Throttle
from floorlink.daemon.plugins import Options, Plugin

log = structlog.get_logger(__name__)
_throttle = Throttle()

#: Rows one pull page may carry; a larger page is refused (and backed off), never half-taken.
MAX_PAGE_ROWS = 2000
#: Bytes one pull page may carry (a Pi has 1 GB; a page of 50,000 rows peaked at 362 MB).
MAX_PAGE_BYTES = 4 * 1024 * 1024

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
    """A pull page as it came: rows are checked one by one (`rows`), so one malformed
    reservation costs only itself."""

    model_config = ConfigDict(extra="allow")
    reservations: Annotated[list[Any], Field(max_length=MAX_PAGE_ROWS)]
    cursor: str | None = Field(None, max_length=1024)

    def rows(self) -> list[Reservation]:
        good = []
        for n, raw in enumerate(self.reservations):
            try:
                good.append(Reservation.model_validate(raw).checked())
            except (ValidationError, ValueError) as exc:
                metrics.CLOUD_ROWS_REJECTED.inc()
                warn_row(n, raw, exc)
        return good


def warn_row(n: int, raw: Any, exc: Exception) -> None:
    """Log a skipped row by its id and what was wrong, never by its personal fields."""
    rid = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    if isinstance(exc, ValidationError):
        why = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['type']}" for e in exc.errors()[:5]
        )
    else:
        why = "time: not an RFC 3339 timestamp between 2000 and 2099"
    _throttle.warning(log, "reservation skipped", row=n, id=(rid or "")[:128], error=why)


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
                body = await resp.content.read(MAX_PAGE_BYTES + 1)
                if len(body) > MAX_PAGE_BYTES:
                    raise TransientError(
                        f"the cloud sent more than {MAX_PAGE_BYTES // 1024 // 1024} MiB in one"
                        " answer: ask its operator for smaller pages"
                    )
                if resp.status == 429 or resp.status >= 500:
                    raise TransientError(f"the cloud answered {resp.status}", _retry_after(resp))
                if 300 <= resp.status < 400:
                    raise PermanentError(resp.status, "the cloud redirected; redirects are refused")
                return resp.status, body
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"cannot reach the cloud: {type(exc).__name__} {exc}") from exc

    async def reservations(self, cursor: str | None) -> tuple[list[Reservation], str | None, int]:
        """One page: its good rows, the next cursor, and how many rows it had in all."""
        params = {"cursor": cursor} if cursor else {}
        status, body = await self._request(
            "GET", f"/v1/sites/{self.site}/reservations", params=params
        )
        if status >= 400:
            raise PermanentError(status, body[:200].decode(errors="replace"))
        try:
            page = Page.model_validate_json(body)
        except (ValidationError, ValueError) as exc:
            kinds = ", ".join(sorted({e["type"] for e in exc.errors()[:5]})) if isinstance(
                exc, ValidationError) else "not JSON"  # fmt: skip
            raise TransientError(f"the cloud answered garbage: {kinds}") from exc
        return page.rows(), page.cursor, len(page.reservations)

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
        rows, next_cursor, total = await self.client.reservations(cursor)
        return ProviderPage(
            [self._table(r.model_dump(exclude_none=True)) for r in rows],
            next_cursor,
            more=total > 0,
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
