"""Zeroconf: POS terminals and tablets find the box without typing an address.

`_floorlink._tcp` points at the host stand and API; `_mqtt._tcp` at the broker when Floorlink
manages it. The records are withdrawn on shutdown. A second box with the same site id gets a
renamed record ("... (2)") instead of an error; no multicast at all only costs the discovery.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

import structlog
from zeroconf import Error as ZeroconfError
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

log = structlog.get_logger(__name__)

FLOORLINK_TYPE = "_floorlink._tcp.local."
MQTT_TYPE = "_mqtt._tcp.local."


def lan_address() -> str:
    """The address other machines reach this box at (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: routing lookup only
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


@dataclass
class Advertiser:
    """`interfaces`: where to answer queries; `address`: the A record. Both default to the LAN
    address, so a box with several interfaces does not advertise a loopback or VPN address."""

    site_id: str
    http_port: int
    mqtt_port: int | None = None
    interfaces: list[str] | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        self._zc: AsyncZeroconf | None = None
        self._infos: list[AsyncServiceInfo] = []

    def _info(self, type_: str, port: int, props: dict[str, str]) -> AsyncServiceInfo:
        address = self.address or lan_address()
        host = socket.gethostname().split(".")[0]
        return AsyncServiceInfo(
            type_,
            f"Floorlink {self.site_id}.{type_}",
            addresses=[socket.inet_aton(address)],
            port=port,
            properties=props,
            server=f"{host}.local.",
        )

    async def start(self) -> None:
        try:
            self._zc = AsyncZeroconf(
                interfaces=self.interfaces or [self.address or lan_address()],
                ip_version=IPVersion.V4Only,
            )
            self._infos = [
                self._info(FLOORLINK_TYPE, self.http_port,
                           {"site": self.site_id, "path": "/", "api": "/api/v1"}),
            ]  # fmt: skip
            if self.mqtt_port:
                self._infos.append(
                    self._info(
                        MQTT_TYPE, self.mqtt_port, {"site": self.site_id, "prefix": "floorlink/v1"}
                    )
                )
            zc = self._zc  # probe all names at once, then wait for all announcements (~1.5 s)
            announced = await asyncio.gather(
                *(zc.async_register_service(i, allow_name_change=True) for i in self._infos)
            )
            await asyncio.gather(*announced)
            log.info("advertised on zeroconf", services=[i.type for i in self._infos])
        except (OSError, ValueError, ZeroconfError) as exc:  # the rest works without it
            log.warning("zeroconf unavailable", error=str(exc))

    async def stop(self) -> None:
        if self._zc is None:
            return
        for info in self._infos:
            try:
                goodbye = await self._zc.async_unregister_service(info)
                await goodbye
            except Exception as exc:
                log.debug("zeroconf unregister failed", error=str(exc))
        await self._zc.async_close()
        self._zc = None
