"""The installed Floorlink's version, from its package metadata: what `--version`,
`/api/v1/status` and the installer's `versions/<version>-...` folder all show."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _metadata_version


def version() -> str:
    try:
        return _metadata_version("floorlink")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"
