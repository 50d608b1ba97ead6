"""First-run config: tell a box that was never set up from one that was, and write the answers of
the setup page into the config file (tomlkit, so the installer's comments and keys stay), with a
dated backup of the file it replaces.

A box is *unset* when its config file does not exist, or holds neither `[site]` nor `[[tables]]`:
what systemd/install.sh writes on a fresh box (the broker's credentials, the staff token, the store
path) and nothing a restaurant has chosen. Such a file is a *seed*. Anything with a site or a table
in it is a config, checked as one: a broken config is an error to fix, never a reason to offer the
setup page again (which would let anyone on the LAN set a new PIN).
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from floorlink.daemon import config_writer
from floorlink.daemon.config import Config, ConfigError, parse_config

#: Keys a seed may hold: set by the installer, not by the restaurant.
SEED_SECTIONS = frozenset({"store", "mqtt", "http", "log"})


class SetupError(Exception):
    """Answers the config would refuse, one line each (the config's own key paths)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


def read_seed(path: Path) -> dict[str, Any] | None:
    """The seed's keys when `path` is an unset box's config; None when it is a real config (or
    not TOML: that is a config error for `load_config` to report)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError):
        return None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    if "site" in raw or "tables" in raw:
        return None
    return raw


def is_unset(path: Path) -> bool:
    return read_seed(path) is not None


def check_seed(path: Path, env: dict[str, str] | None = None) -> list[str]:
    """What is wrong with a seed's own keys (the same rules as a full config), as lines."""
    raw = read_seed(path) or {}
    unknown = sorted(set(raw) - SEED_SECTIONS)
    problems = [f"{key}: set it in the setup page, or remove it here" for key in unknown]
    try:
        _complete(raw, env)
    except ConfigError as exc:
        problems += [line for line in exc.described if not line.startswith(("site", "tables"))]
    return problems


def _complete(seed: dict[str, Any], env: dict[str, str] | None) -> Config:
    """The seed with a stand-in site, table and token: validates the keys it has."""
    raw = {k: v for k, v in seed.items() if k in SEED_SECTIONS}
    http = dict(raw.get("http") or {})
    http.setdefault("staff_token", "x" * 16)
    text = tomlkit.dumps(
        {**raw, "http": http, "site": {"id": "setup"}, "tables": [{"id": "1", "seats": 2}]}
    )
    return parse_config(text, env if env is not None else dict(os.environ))


def seed_settings(path: Path) -> Config:
    """Enough of a Config to serve the setup page: the seed's listen address and store."""
    return _complete(read_seed(path) or {}, None)


def site_id(name: str) -> str:
    """`Trattoria Luna` -> `trattoria-luna`: the MQTT client and cloud name of the site."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")
    return slug or "site"


def build(
    seed_text: str,
    answers: dict[str, Any],
    env: dict[str, str] | None = None,
) -> tuple[str, Config]:
    """The full config text: the seed's own text (comments kept) with the answers filled in.
    Raises SetupError with the config's own error lines if the result would not run."""
    doc = tomlkit.parse(seed_text)
    site = tomlkit.table()
    site.add("id", site_id(str(answers["name"])))
    site.add("name", str(answers["name"]))
    site.add("timezone", str(answers["timezone"]))
    doc["site"] = site
    http = doc.get("http")
    if not isinstance(http, Table):
        http = tomlkit.table()
        doc["http"] = http
    http["staff_pin"] = str(answers["pin"])
    environment = env if env is not None else dict(os.environ)
    if "staff_token" not in http and not environment.get("FLOORLINK_STAFF_TOKEN"):
        http["staff_token"] = secrets.token_urlsafe(24)
    pager = answers.get("pager")
    if pager:
        section = tomlkit.table()
        section.add("port", str(pager["port"]))
        section.add("protocol", str(pager["protocol"]))
        for key, value in (pager.get("options") or {}).items():
            section.add(key, value)
        doc["pager"] = section
    tables = AoT([])
    for row in answers["tables"]:
        t = tomlkit.table()
        t.add("id", str(row["id"]))
        t.add("seats", int(row["seats"]))
        t.add("section", str(row.get("section") or "main"))
        tables.append(t)
    doc["tables"] = tables
    text = tomlkit.dumps(doc)
    try:
        config = parse_config(text, environment)
    except ConfigError as exc:
        raise SetupError(exc.described) from None
    return text, config


def write(path: Path, text: str) -> Path | None:
    """Replace `path` with `text` in one rename (never half a file), keeping the file it
    replaces beside it as the floor editor does (`<name>.bak-<UTC time>`, the newest 10);
    returns that backup's path, if any."""
    return config_writer.replace(path, text)
