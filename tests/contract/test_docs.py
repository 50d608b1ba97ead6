"""The documents say what the code does: every MQTT topic in daemon/topics.py is in docs/mqtt.md."""

from __future__ import annotations

import re
from pathlib import Path

from floorlink.daemon import topics

ROOT = Path(__file__).resolve().parents[2]


def test_every_topic_is_documented_and_every_documented_topic_exists() -> None:
    doc = (ROOT / "docs" / "mqtt.md").read_text()
    documented = set(re.findall(r"^## `([^`]+)`", doc, flags=re.M))
    in_code = {pattern.replace("+", "{terminal}") for pattern, _, _ in topics.ALL}
    assert documented == in_code
