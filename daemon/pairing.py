"""Per-device pairing: a tablet trades the staff PIN once for its own long-lived credential.

Only a hash of each credential is kept (in a small JSON file beside the store, mode 0600), so the
file does not let anyone in. A device can be listed and revoked by whoever holds the staff token;
a revoked tablet is asked for the PIN again. The PIN is typed once per tablet, not per shift.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

MAX_DEVICES = 50


@dataclass(slots=True)
class Device:
    id: str
    name: str
    paired_at: str
    digest: str
    last_seen: str | None = None

    def public(self) -> dict[str, str | None]:
        return {
            "id": self.id,
            "name": self.name,
            "paired_at": self.paired_at,
            "last_seen": self.last_seen,
        }


class PairingFull(Exception):
    """More devices than MAX_DEVICES: revoke one first."""


def _digest(credential: str) -> str:
    return hashlib.sha256(credential.encode("utf-8", "surrogateescape")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Pairings:
    """The paired devices; `path` None keeps them in memory only (tests, a read-only box)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._by_digest: dict[str, Device] = {}
        if path is not None and path.exists():
            try:
                for raw in json.loads(path.read_text())["devices"]:
                    device = Device(**raw)
                    self._by_digest[device.digest] = device
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error("paired devices unreadable: every tablet must pair again", error=str(exc))
                self._by_digest = {}

    def __len__(self) -> int:
        return len(self._by_digest)

    def pair(self, name: str) -> tuple[Device, str]:
        """A new device and its credential (returned once, never stored)."""
        if len(self._by_digest) >= MAX_DEVICES:
            raise PairingFull(f"{MAX_DEVICES} devices are paired already: revoke one first.")
        credential = "fld_" + secrets.token_urlsafe(32)
        device = Device("d-" + secrets.token_hex(6), name, _now(), _digest(credential))
        self._by_digest[device.digest] = device
        self._save()
        return device, credential

    def check(self, credential: str) -> Device | None:
        """The device this credential belongs to, if it is paired and not revoked."""
        if not credential.startswith("fld_"):
            return None
        device = self._by_digest.get(_digest(credential))
        if device is not None:
            device.last_seen = _now()
        return device

    def devices(self) -> list[Device]:
        return sorted(self._by_digest.values(), key=lambda d: (d.paired_at, d.id))

    def revoke(self, device_id: str) -> Device | None:
        for digest, device in list(self._by_digest.items()):
            if device.id == device_id:
                del self._by_digest[digest]
                self._save()
                return device
        return None

    def _save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        data = json.dumps({"devices": [asdict(d) for d in self.devices()]}, indent=1)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            log.error(
                "paired devices not saved: they last until the daemon restarts", error=str(exc)
            )
