"""A config around a store path, for the store tests."""

from __future__ import annotations

from pathlib import Path

from floorlink.daemon.config import Config, parse_config

T0 = 1_795_000_000_000  # a fixed evening, epoch ms
MIN = 60_000


def config_for(path: Path, extra: str = "") -> Config:
    return parse_config(
        f'[site]\nid = "s"\ntimezone = "UTC"\n[store]\npath = "{path}"\n{extra}'
        '[http]\nstaff_token = "long-enough-token"\n'
        '[[tables]]\nid = "1"\nseats = 4\n[[tables]]\nid = "2"\nseats = 4\n'
        '[[tables]]\nid = "3"\nseats = 6\n',
        {},
    )
