"""The broker link: a persistent QoS 1 session, PUBACK only after commit, reconnect with backoff.

aiomqtt 2.5 has no public manual-ack API: paho sends the PUBACK as soon as aiomqtt has queued the
message, before we have stored it, so a crash would lose it. paho-mqtt 2 itself supports manual
acks, so this module (and only this one) reaches the paho client behind aiomqtt:
`manual_ack_set(True)` before connecting, `ack(mid, qos)` after the commit, in arrival order as MQTT
requires. aiomqtt's pinned version is 2.5.1; aiomqtt 3 has `puback()` (MQTT 5 only) and moving to
it touches only this file (empicano/aiomqtt#345). Fire-and-forget publishes go through the same
paho client, exactly as aiomqtt's own `publish` does minus its wait for the broker's PUBACK.

Each connection gets a fresh aiomqtt client (same identifier, so the broker keeps the session):
messages left in an old client's queue are never acked on a new connection; the broker
redelivers them and the store answers `duplicate`.
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt
import structlog

log = structlog.get_logger(__name__)

BACKOFF_START_S = 0.2
BACKOFF_MAX_S = 10.0
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    host: str
    port: int
    client_id: str
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    keepalive: int = 30


@dataclass(frozen=True, slots=True)
class Received:
    """One inbound message, tagged with the connection it came on (for the PUBACK)."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int


class BufferedSocket:
    """paho reads each packet's header a byte at a time, one recv() call per byte (three or four
    system calls for a 4-byte PUBACK). This reads what the kernel has in one call and serves
    paho's small reads from it; `pending()` tells aiomqtt's reader to come back for the rest
    (the hook it has for TLS sockets, which buffer the same way). Everything else passes through.
    """

    CHUNK = 65536

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, bufsize: int) -> bytes:
        if self._pos >= len(self._buf):
            self._buf = self._sock.recv(max(bufsize, self.CHUNK))  # raises when there is none
            self._pos = 0
            if not self._buf:
                return b""  # closed by the peer
        end = self._pos + bufsize
        out = self._buf[self._pos : end]
        self._pos = min(end, len(self._buf))
        return out

    def pending(self) -> int:
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._buf) - self._pos + int(inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _buffer_reads(paho: Any) -> None:
    """Make paho's connection socket a BufferedSocket (paho creates one per connect)."""
    create = paho._create_socket
    paho._create_socket = lambda: BufferedSocket(create())


class BrokerLink:
    """Subscribe, receive in order, ack after commit, publish; reconnect forever."""

    def __init__(
        self,
        settings: BrokerSettings,
        subscriptions: list[str],
        will: tuple[str, bytes],
        on_message: Callable[[Received], None],
        on_connect: Callable[[], Awaitable[None]],
        on_state: Callable[[bool], None] = lambda connected: None,
    ) -> None:
        self.settings = settings
        self.subscriptions = subscriptions
        self.will = will
        self.on_message = on_message
        self.on_connect = on_connect
        self.on_state = on_state
        self.generation = 0
        self.connected = False
        self.reconnects = 0
        self.failures = 0
        self._client: aiomqtt.Client | None = None
        self._stop = asyncio.Event()

    def _new_client(self) -> aiomqtt.Client:
        s = self.settings
        tls_context = None
        if s.tls:
            tls_context = ssl.create_default_context(cafile=s.ca_file)
        client = aiomqtt.Client(
            s.host,
            s.port,
            identifier=s.client_id,
            username=s.username,
            password=s.password,
            clean_session=False,
            keepalive=s.keepalive,
            timeout=CONNECT_TIMEOUT_S,
            will=aiomqtt.Will(self.will[0], self.will[1], qos=1, retain=True),
            tls_context=tls_context,
            # No in-flight limit on our own publishes: paho rescans every unacknowledged message
            # on each PUBACK while under a limit (O(n) per ack); the broker takes any number.
            max_inflight_messages=0,
            # Small publishes otherwise wait out 40 ms delayed ACKs (Nagle).
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        # Before connecting: the broker's redeliveries arrive right after CONNACK.
        client._client.manual_ack_set(True)
        _buffer_reads(client._client)
        return client

    async def run(self) -> None:
        """Connect, subscribe, pump messages; on any broker error wait and start again."""
        backoff = BACKOFF_START_S
        while not self._stop.is_set():
            client = self._new_client()
            try:
                async with client:
                    self._client = client
                    self.generation += 1
                    generation = self.generation
                    for topic in self.subscriptions:
                        await client.subscribe(topic, qos=1)
                    await self.on_connect()
                    self._set_connected(True)
                    log.info("broker connected", host=self.settings.host, port=self.settings.port)
                    backoff = BACKOFF_START_S
                    async for msg in client.messages:
                        self.on_message(
                            Received(
                                str(msg.topic),
                                bytes(msg.payload)
                                if isinstance(msg.payload, bytes | bytearray)
                                else str(msg.payload or "").encode(),
                                msg.mid,
                                msg.qos,
                                generation,
                            )
                        )
            except aiomqtt.MqttError as exc:
                if self._stop.is_set():
                    break
                if self.connected:
                    log.warning("broker connection lost", error=str(exc))
                else:
                    log.debug("broker unreachable", error=str(exc))
            except Exception as exc:  # anything else: say so and reconnect, never end intake
                if self._stop.is_set():
                    break
                self.failures += 1
                log.error("broker link failed: reconnecting", error=repr(exc)[:300], exc_info=exc)
            finally:
                self._client = None
                self._set_connected(False)
            if self._stop.is_set():
                break
            self.reconnects += 1
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    def _set_connected(self, value: bool) -> None:
        if value != self.connected:
            self.connected = value
            self.on_state(value)

    def ack(self, msg: Received) -> None:
        """PUBACK, once the message is committed; skipped if it came on an older connection."""
        client = self._client
        if client is None or msg.generation != self.generation or msg.qos == 0:
            return
        client._client.ack(msg.mid, msg.qos)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        """Queue a publish without waiting for the broker. False when not connected."""
        client = self._client
        if client is None:
            return False
        info = client._client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == 0

    async def publish_wait(self, topic: str, payload: bytes, retain: bool = True) -> None:
        """Publish and wait for the broker's PUBACK (used for the clean `offline` at stop)."""
        client = self._client
        if client is not None:
            await client.publish(topic, payload, qos=1, retain=retain, timeout=2)

    async def stop(self, last_words: tuple[str, bytes] | None = None) -> None:
        self._stop.set()
        if last_words is not None:
            try:
                await self.publish_wait(*last_words)
            except (aiomqtt.MqttError, TimeoutError) as exc:
                log.warning("could not publish offline", error=str(exc))
