"""The configuration: one validated, frozen pydantic model of the TOML file (Frigate's pattern).

Unknown keys are errors; every error names the key's path and what was expected, one line each:
`tables[3].seats: expected an integer >= 1, got "four"` (the contract's form); the CLI prints the
same line naming the table by its id, `tables["4"].seats: ... (tables[3].seats)`. Secrets can
come from the environment (`FLOORLINK_STAFF_TOKEN`, `FLOORLINK_CLOUD_TOKEN`) or from systemd
credentials (`$CREDENTIALS_DIRECTORY/staff_token`, `.../cloud_token`), and never show in a repr.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from floorlink.daemon.names import TableNames, clashes

BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


class ConfigError(Exception):
    """Every problem found, one line each. `errors` name tables by position, as the contract's
    example does (`tables[3].seats: ...`); `described` names them by id, which is what a person
    looks for in the file (`tables["12"].seats: ... (tables[3].seats)`), and is what the CLI
    prints."""

    def __init__(self, errors: list[str], described: list[str] | None = None) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors
        self.described = described if described is not None else errors


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Site(Model):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]{1,64}$", description="site id, [a-z0-9-]")]
    timezone: str = Field("UTC", description="IANA time zone of the restaurant")
    name: str | None = Field(None, description="display name (default: the id)")
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = Field(
        "US", description="ISO 3166 country: guests' local phone numbers are read in it"
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f'expected an IANA time zone such as "Europe/Rome", got {json.dumps(v)}'
            ) from None
        return v


class StoreCfg(Model):
    path: str = Field("/var/lib/floorlink/floorlink.db", description="the SQLite file")
    snapshot_every: Annotated[int, Field(ge=1)] = Field(
        1000, description="events between snapshots"
    )
    reserve_mb: Annotated[int, Field(ge=0, le=1024)] = Field(
        8, description="disk space held beside the store, released when the disk fills"
    )
    outbox_retention_days: Annotated[float, Field(ge=0)] = Field(
        7, description="settled outbox rows (sent, dead, expired) are deleted after this long"
    )
    rejected_retention_days: Annotated[float, Field(ge=0)] = Field(
        7, description="refused inputs' answers are kept this long for resends"
    )
    prune_every_minutes: Annotated[float, Field(gt=0, le=1440)] = Field(
        60, description="how often the store janitor prunes and checks the store"
    )


class Mqtt(Model):
    url: str = Field("mqtt://127.0.0.1:1883", description="mqtt://user:pass@host:port or mqtts://")
    client_id: str | None = Field(None, description="default floorlink-{site.id}")
    keepalive: Annotated[int, Field(ge=5, le=3600)] = 30
    ca_file: str | None = Field(None, description="CA bundle for mqtts://")
    passwd_file: str | None = Field(
        None,
        description="the broker's password file (/etc/mosquitto/floorlink.passwd), to add and"
        " remove POS terminals from the host stand; the daemon's user must be able to write it",
    )
    reload_broker: bool = Field(
        True, description="after a terminal is added or removed: systemctl reload mosquitto"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"expected mqtt://host:port or mqtts://host:port, got {json.dumps(v)}")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise ValueError(f"expected a port number in the url, got {json.dumps(v)}") from None
        return v

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (8883 if self.tls else 1883)

    @property
    def username(self) -> str | None:
        user = urlsplit(self.url).username
        return unquote(user) if user else None

    @property
    def password(self) -> str | None:
        pw = urlsplit(self.url).password
        return unquote(pw) if pw else None

    def __repr_args__(self) -> Any:  # keep the password out of reprs and logs
        for key, value in super().__repr_args__():
            yield key, (re.sub(r":[^:@/]*@", ":***@", value) if key == "url" else value)


class Http(Model):
    listen: str = Field("0.0.0.0:8080", description="host:port")
    staff_token: SecretStr | None = Field(None, description="Bearer token for writes")
    open_reads: bool = Field(False, description="true: reads need no token on the LAN")
    staff_pin: SecretStr | None = Field(
        None, description="6-12 digits a tablet types once to pair (or trades for the token)"
    )
    pin_attempts_per_minute: Annotated[int, Field(ge=1, le=100)] = Field(
        5, description="wrong PINs one client may make before its lockouts start (then doubling)"
    )
    idle_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        15.0, description="a connection with no request in progress is closed after this"
    )
    body_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = Field(
        10.0, description="a request body that has not arrived by then gets 408"
    )

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        host, _, port = v.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f'expected host:port such as "0.0.0.0:8080", got {json.dumps(v)}')
        return v

    @field_validator("staff_pin")
    @classmethod
    def _pin(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not re.fullmatch(r"\d{6,12}", v.get_secret_value()):
            raise ValueError("expected 6 to 12 digits (a 4-digit PIN falls to guessing)")
        return v

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class Pager(Model):
    """`[pager]`: where the transmitter is and which protocol it speaks. The protocol's own keys
    (`restaurant_id`, `system_id` for `lrs`, ...) sit in the same section and are validated by
    that protocol's options model (docs/pagers.md)."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    port: str = Field(
        description="any path pyserial opens: /dev/serial/by-id/..., a pty, rfc2217://; "
        "for rps-http the box's http:// url"
    )
    protocol: str = Field("lrs", description="transmitter protocol (see docs/pagers.md)")
    baud: int | None = Field(None, description="default: the protocol's (9600; jtech 1200)")
    alert_type: Annotated[int, Field(ge=0, le=255)] = 1
    ttl_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        180, description="a page older than this is never sent (marked expired)"
    )

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, v: str) -> str:
        known = _pager_protocols()
        if v not in known:
            raise ValueError(f"expected one of {', '.join(sorted(known))}, got {json.dumps(v)}")
        return v

    @field_validator("baud")
    @classmethod
    def _baud(cls, v: int | None) -> int | None:
        if v is not None and v not in BAUD_RATES:
            raise ValueError(
                f"expected a standard baud rate ({', '.join(map(str, BAUD_RATES))}), got {v}"
            )
        return v

    @property
    def settings(self) -> dict[str, Any]:
        """The protocol's own keys."""
        return dict(self.model_extra or {})

    def options(self) -> BaseModel:
        from floorlink.daemon.plugins import PAGER_PROTOCOLS

        return PAGER_PROTOCOLS.options(self.protocol, self.settings)


class Paging(Model):
    trigger: Literal["bussing", "available", "after_close"] = Field(
        "bussing",
        description="when a freed table pages: check closed (bussing), table cleared "
        "(available), or page_after_close_minutes after the check closed (after_close)",
    )
    page_after_close_minutes: Annotated[float, Field(gt=0, le=120)] = 5
    heads_up_minutes: Annotated[float, Field(ge=0, le=60)] = Field(
        0,
        description="heads-up page to the next party this long before a fitting table "
        "is predicted free; 0: off",
    )
    repage_after_minutes: Annotated[float, Field(gt=0, le=120)] = 5
    max_pages: Annotated[int, Field(ge=1, le=20)] = 3
    hold_window_minutes: Annotated[int, Field(ge=0, le=240)] = 30
    combine_tables: bool = False


class Cloud(Model):
    """`[cloud]`: the reservation system. `provider` names a plug-in of RESERVATION_PROVIDERS;
    keys other than the ones below are that provider's own options, validated by its model."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    provider: str = Field("floorlink", description="reservation provider (docs/integrations.md)")
    url: str = Field("", description="https://... of the reservation system; empty: no cloud")
    token: SecretStr | None = None
    pull_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 1
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10
    outbox_alarm_events: Annotated[int, Field(ge=100)] = 200_000

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v:
            return v
        parts = urlsplit(v)
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ValueError(f"expected an https:// url, got {json.dumps(v)}")
        if not parts.hostname:
            raise ValueError(f"expected an https:// url with a host, got {json.dumps(v)}")
        return v.rstrip("/")

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def options(self) -> BaseModel:
        from floorlink.daemon.plugins import RESERVATION_PROVIDERS

        return RESERVATION_PROVIDERS.options(self.provider, self.settings)


class Reports(Model):
    day_starts: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = Field(
        "05:00",
        description="local time the service day starts (HH:MM); late closes belong to the night",
    )

    @property
    def cutoff(self) -> time:
        hh, mm = self.day_starts.split(":")
        return time(int(hh), int(mm))


class Privacy(Model):
    retention_days: Annotated[float, Field(gt=0)] | None = Field(
        None,
        description="`floorlink guest purge` erases guests not seen for this long (none: keep)",
    )


class Segments(Model):
    high_spend: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]{1,2})?$")] = Field(
        "500.00", description="lifetime spend that makes a high spender (decimal)"
    )
    absent_days: Annotated[int, Field(ge=1)] = Field(60, description="days without a visit")
    min_visits: Annotated[int, Field(ge=1)] = Field(
        3, description="visits a regular or an always-dessert guest needs"
    )


class Log(Model):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class TableCfg(Model):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,16}$")]
    seats: Annotated[int, Field(ge=1)]
    section: str = "main"
    x: Annotated[float, Field(ge=0, le=100)] | None = None
    y: Annotated[float, Field(ge=0, le=100)] | None = None
    shape: Literal["round", "square", "rect"] = "square"
    name: Annotated[str, Field(min_length=1, max_length=32)] | None = Field(
        None, description='shown on the stand instead of the id ("Patio 1")'
    )
    combine_with: list[str] = Field(default_factory=list)
    aliases: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list,
        description='other names of this table in the POS, reservations, printer ("T12")',
    )


class InputCfg(Model):
    """One `[[inputs]]` entry: a source of check events beside MQTT (docs/architecture.md).
    `kind` names a plug-in of `INPUT_SOURCES`; the other keys are that plug-in's options."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    kind: str = Field(description="the input source plug-in, e.g. receipt-tcp")
    name: Annotated[str, Field(pattern=r"^[a-z0-9-]{1,32}$")] = Field(
        description="this source's name: events come from `{kind}:{name}`"
    )

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def options(self) -> BaseModel:
        from floorlink.daemon.plugins import INPUT_SOURCES

        return INPUT_SOURCES.options(self.kind, self.settings)


class Config(Model):
    site: Site
    store: StoreCfg = StoreCfg()
    mqtt: Mqtt = Mqtt()
    http: Http = Http()
    pager: Pager | None = None
    paging: Paging = Paging()
    cloud: Cloud | None = None
    log: Log = Log()
    reports: Reports = Reports()
    privacy: Privacy = Privacy()
    segments: Segments = Segments()
    inputs: list[InputCfg] = Field(default_factory=list)
    tables: Annotated[list[TableCfg], Field(min_length=1)]

    @property
    def table_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.tables)

    @property
    def table_names(self) -> TableNames:
        return TableNames(self.table_ids, {t.id: t.aliases for t in self.tables})

    def table(self, table_id: str) -> TableCfg:
        for t in self.tables:
            if t.id == table_id:
                return t
        raise KeyError(table_id)


def _pager_protocols() -> set[str]:
    from floorlink.daemon.plugins import PAGER_PROTOCOLS

    return set(PAGER_PROTOCOLS.names())


# ---- errors ------------------------------------------------------------------------------


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before") or "[" in str(part):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _got(value: Any) -> str:
    if isinstance(value, SecretStr):
        return '"***"'
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _field_metadata(loc: tuple[int | str, ...]) -> list[Any]:
    """The constraints declared on the field at `loc`, also inside `Annotated[...] | None`."""
    model: Any = Config
    info = None
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return []
        info = fields[part]
        ann = info.annotation
        args = getattr(ann, "__args__", ())
        model = next(
            (a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None
        )
    if info is None:
        return []
    metadata = list(info.metadata)
    for arg in getattr(info.annotation, "__args__", ()):
        for meta in getattr(arg, "__metadata__", ()):
            # Field(...) inside Annotated[...] | None keeps its constraints one level down
            metadata.extend(getattr(meta, "metadata", [meta]))
    return metadata


def _bound(metadata: list[Any], key: str) -> Any:
    value = next((getattr(m, key) for m in metadata if getattr(m, key, None) is not None), None)
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _field_range(loc: tuple[int | str, ...]) -> str | None:
    """`0-100` for a field declared with both ends inclusive (ge and le), else None."""
    metadata = _field_metadata(loc)
    lo, hi = _bound(metadata, "ge"), _bound(metadata, "le")
    if lo is None or hi is None or _bound(metadata, "gt") is not None:
        return None
    return f"{lo}-{hi}"


def _field_bounds(loc: tuple[int | str, ...]) -> str:
    """The declared bounds of the field at `loc`: ` >= 1` for "expected an integer >= 1", or
    ` 0-100` when it has both ends."""
    metadata = _field_metadata(loc)
    both = _field_range(loc)
    if both is not None:
        return f" {both}"
    words = []
    for key, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        value = _bound(metadata, key)
        if value is not None:
            words.append(f"{word} {value}")
    return " " + " and ".join(words) if words else ""


def _sentence(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = _got(err.get("input"))
    bounds = _field_bounds(tuple(err["loc"]))
    if not bounds:  # a plug-in's own model: the bound the error names
        pairs = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
        words = [f"{w} {ctx[k]}" for k, w in pairs if k in ctx]
        bounds = " " + " and ".join(words) if words else ""
    if kind == "missing":
        return "missing (required)"
    if kind == "extra_forbidden":
        return "unknown key"
    bound_kinds = ("greater_than_equal", "less_than_equal", "greater_than", "less_than")
    both = _field_range(tuple(err["loc"]))
    if kind in bound_kinds and both is not None:
        return f"expected {both}, got {got}"  # the whole rule: "expected 0-100, got 140"
    if kind.startswith("int") or (kind in bound_kinds and isinstance(err.get("input"), int)):
        return f"expected an integer{bounds}, got {got}"
    if kind.startswith("float") or kind in bound_kinds:
        return f"expected a number{bounds}, got {got}"
    if kind.startswith("bool"):
        return f"expected true or false, got {got}"
    if kind == "string_pattern_mismatch":
        return f"expected text matching {ctx.get('pattern')}, got {got}"
    if kind.startswith("string"):
        return f"expected a string, got {got}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}, got {got}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {got}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a table (section), got {got}"
    if kind == "too_short":
        return "expected at least one entry"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    return f"{err['msg']}, got {got}"


Loc = tuple[int | str, ...]
Problem = tuple[Loc, str]


def _render(exc: ValidationError) -> list[Problem]:
    return [(tuple(err["loc"]), _sentence(err)) for err in exc.errors()]


def _table_names(tables: Any) -> dict[int, str]:
    """Position -> id for each table whose id is valid and unique: those can be named by id."""
    if not isinstance(tables, list):
        return {}
    ids = [t.get("id") if isinstance(t, dict) else None for t in tables]
    return {
        i: tid
        for i, tid in enumerate(ids)
        if isinstance(tid, str)
        and re.fullmatch(r"[A-Za-z0-9_-]{1,16}", tid)
        and ids.count(tid) == 1
    }


def _lines(problems: list[Problem], names: dict[int, str]) -> tuple[list[str], list[str]]:
    """The contract's lines (by position) and the same lines naming each table by its id."""
    errors, described = [], []
    for loc, msg in problems:
        path = _path(loc) or "config"
        errors.append(f"{path}: {msg}")
        if len(loc) >= 2 and loc[0] == "tables" and isinstance(loc[1], int) and loc[1] in names:
            named = f"tables[{json.dumps(names[loc[1]])}]" + _path(("x", *loc[2:]))[1:]
            described.append(f"{named}: {msg} ({path})")
        else:
            described.append(f"{path}: {msg}")
    return errors, described


# ---- loading -----------------------------------------------------------------------------


def _secret(env: Mapping[str, str], var: str, cred: str) -> str | None:
    if env.get(var):
        return env[var]
    creds = env.get("CREDENTIALS_DIRECTORY")
    if creds and (Path(creds) / cred).is_file():
        return (Path(creds) / cred).read_text().strip()
    return None


def parse_config(text: str, env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        where = f"line {match.group(1)}" if match else f"line {text.count(chr(10)) + 1}"
        reason = re.sub(r" \(at line.*", "", msg)
        raise ConfigError([f"{where}: {reason}"]) from None
    errors: list[Problem] = []
    http = raw.setdefault("http", {}) if isinstance(raw.get("http", {}), dict) else None
    if http is not None:
        token = _secret(env, "FLOORLINK_STAFF_TOKEN", "staff_token")
        if token:
            http["staff_token"] = token
    cloud = raw.get("cloud")
    if isinstance(cloud, dict):
        token = _secret(env, "FLOORLINK_CLOUD_TOKEN", "cloud_token")
        if token:
            cloud["token"] = token
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        errors.extend(_render(exc))
        config = None
    if config is not None:
        errors.extend(_cross_checks(config))
    elif isinstance(raw.get("tables"), list):
        errors.extend(_duplicate_ids(raw["tables"]))
    if errors:
        raise ConfigError(*_lines(errors, _table_names(raw.get("tables"))))
    assert config is not None
    return config


def _duplicate_ids(tables: list[Any]) -> list[Problem]:
    seen: dict[str, int] = {}
    lines: list[Problem] = []
    for i, t in enumerate(tables):
        tid = t.get("id") if isinstance(t, dict) else None
        if isinstance(tid, str):
            if tid in seen:
                also = f"tables[{seen[tid]}]"
                lines.append(
                    (("tables", i, "id"), f"duplicate table id {json.dumps(tid)} (also {also})")
                )
            else:
                seen[tid] = i
    return lines


def _cross_checks(config: Config) -> list[Problem]:
    lines = _duplicate_ids([t.model_dump() for t in config.tables])
    ids = set(config.table_ids)
    for i, t in enumerate(config.tables):
        for j, other in enumerate(t.combine_with):
            if other not in ids:
                lines.append(
                    (
                        ("tables", i, "combine_with", j),
                        f"no table {json.dumps(other)} in this config",
                    )
                )
    token = config.http.staff_token.get_secret_value() if config.http.staff_token else ""
    if len(token) < 8:
        got = "nothing" if not token else f"{len(token)} characters"
        lines.append(
            (
                ("http", "staff_token"),
                f"expected a token of at least 8 characters (or FLOORLINK_STAFF_TOKEN), got {got}",
            )
        )
    if config.cloud is not None and config.cloud.url and config.cloud.token is None:
        lines.append(
            (
                ("cloud", "token"),
                "expected the cloud's API token (or FLOORLINK_CLOUD_TOKEN), got nothing",
            )
        )
    for alias, tid, other in clashes(config.table_ids, {t.id: t.aliases for t in config.tables}):
        i = config.table_ids.index(tid)
        lines.append(
            (
                ("tables", i, "aliases"),
                f"{json.dumps(alias)} already names table {json.dumps(other)}",
            )
        )
    lines.extend(_input_checks(config))
    lines.extend(_provider_checks(config))
    lines.extend(_pager_checks(config))
    if config.mqtt.ca_file and not config.mqtt.tls:
        lines.append((("mqtt", "ca_file"), "only used with an mqtts:// url"))
    return lines


def _input_checks(config: Config) -> list[Problem]:
    """Each `[[inputs]]` entry against its plug-in's own options model."""
    from floorlink.daemon.plugins import INPUT_SOURCES

    lines: list[Problem] = []
    names: set[str] = set()
    for i, entry in enumerate(config.inputs):
        if entry.kind not in INPUT_SOURCES:
            known = ", ".join(INPUT_SOURCES.names()) or "(none)"
            lines.append(
                (("inputs", i, "kind"), f"expected one of {known}, got {json.dumps(entry.kind)}")
            )
            continue
        if entry.name in names:
            lines.append((("inputs", i, "name"), f"duplicate input name {json.dumps(entry.name)}"))
        names.add(entry.name)
        try:
            entry.options()
        except ValidationError as exc:
            for err in exc.errors():
                lines.append((("inputs", i, *err["loc"]), _sentence({**err, "loc": ()})))
    return lines


def _provider_checks(config: Config) -> list[Problem]:
    """`[cloud] provider` against the registry, and its own options under `[cloud]`."""
    from floorlink.daemon.plugins import RESERVATION_PROVIDERS

    cloud = config.cloud
    if cloud is None:
        return []
    if cloud.provider not in RESERVATION_PROVIDERS:
        names = ", ".join(RESERVATION_PROVIDERS.names())
        return [
            (("cloud", "provider"), f"expected one of {names}, got {json.dumps(cloud.provider)}")
        ]
    try:
        cloud.options()
    except ValidationError as exc:
        return [(("cloud", *err["loc"]), _sentence({**err, "loc": ()})) for err in exc.errors()]
    return []


def _pager_checks(config: Config) -> list[Problem]:
    """`[pager]`'s protocol keys against the protocol's own options model."""
    if config.pager is None:
        return []
    try:
        config.pager.options()
    except ValidationError as exc:
        return [(("pager", *err["loc"]), _sentence({**err, "loc": ()})) for err in exc.errors()]
    return []


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"cannot read {path}: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path} is not UTF-8 text"]) from None
    return parse_config(text, env)
