"""One careful HTTP client for vendor APIs (reservation providers and cloud-POS pollers).

Only the configured host is contacted (redirects are refused), certificates are verified
(aiohttp's default), credentials go only into headers and never into a log or a repr. Failures are
sorted into the bridge's two kinds: `TransientError` (timeouts, connection errors, 429 with the
vendor's Retry-After, 5xx, an answer that is not the JSON asked for) and `PermanentError` (any
other 4xx).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from floorlink.bridge.errors import PermanentError, TransientError


def retry_after_s(headers: Mapping[str, str], unit_s: float = 1.0) -> float | None:
    """The Retry-After header in seconds (`unit_s` 0.001 for vendors that send milliseconds)."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value) * unit_s)
    except ValueError:
        return None


class VendorHttp:
    def __init__(
        self,
        vendor: str,
        base: str,
        headers: Mapping[str, str],
        timeout_s: float,
        retry_after_unit_s: float = 1.0,
    ) -> None:
        self.vendor = vendor
        self.base = base.rstrip("/")
        self._headers = {"User-Agent": "floorlink/1", **headers}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._unit = retry_after_unit_s
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0

    def __repr__(self) -> str:  # never the credentials
        return f"VendorHttp({self.vendor!r}, {self.base!r})"

    def set_header(self, name: str, value: str) -> None:
        self._headers[name] = value
        if self._session is not None and not self._session.closed:
            self._session.headers[name] = value

    def _s(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self, method: str, path: str, **kw: Any
    ) -> tuple[int, bytes, Mapping[str, str]]:
        """(status, body, headers) of a 2xx-4xx answer; 429, 5xx and failures raise."""
        self.requests += 1
        try:
            async with self._s().request(
                method, f"{self.base}{path}", allow_redirects=False, **kw
            ) as resp:
                body = await resp.read()
                if resp.status == 429 or resp.status >= 500:
                    raise TransientError(
                        f"{self.vendor} answered {resp.status}",
                        retry_after_s(resp.headers, self._unit),
                    )
                if 300 <= resp.status < 400:
                    raise PermanentError(resp.status, f"{self.vendor} redirected; refused")
                return resp.status, body, resp.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(
                f"cannot reach {self.vendor}: {type(exc).__name__} {exc}".strip()
            ) from exc

    async def json(self, method: str, path: str, **kw: Any) -> Any:
        """The JSON body of a 2xx answer; a 4xx is permanent, non-JSON is garbage (transient)."""
        status, body, _ = await self.request(method, path, **kw)
        if status >= 400:
            raise PermanentError(status, body[:200].decode(errors="replace"))
        try:
            return json.loads(body)
        except ValueError as exc:
            raise TransientError(
                f"{self.vendor} answered garbage: {body[:80].decode(errors='replace')!r}"
            ) from exc
