"""Logging: JSON lines for journald in production, readable in a terminal, guest data redacted.

Guest names, phones, emails, notes and allergies, and every secret, are removed before rendering,
at any depth of an event's fields and inside free text, tracebacks included (without their local
variables, which would carry whole payloads). The libraries' own stdlib log records (asyncio,
aiohttp, zeroconf, paho) go through the same redaction and renderer.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import MutableMapping
from typing import Any

import structlog
from structlog.tracebacks import ExceptionDictTransformer

SENSITIVE_KEYS = frozenset(
    {
        "name", "guest", "guest_name", "party_name", "customer", "customer_name", "first_name",
        "last_name", "full_name", "phone", "email", "notes", "allergies", "requests", "birthday",
        "token", "password", "staff_token", "staff_pin", "pin", "authorization", "cookie",
    }
)  # fmt: skip
# A key with one of these words as a part (`guest_phone`, `contact-email`, `cloud_token`) too.
SENSITIVE_PARTS = frozenset(
    {"phone", "email", "allergies", "notes", "token", "password", "secret", "authorization"}
)
KEY_PARTS = re.compile(r"[_.\-]")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE = re.compile(
    r"(?<![\w.:-])\+?(?:\d{1,3}[ -])?\(?\d{2,4}\)?[ -]?\d{3,4}[ -]?\d{3,4}(?![\w.:-])"
)
# pydantic's errors quote the offending input: `input_value={'name': 'Maria Rossi', ...}`
PYDANTIC_INPUT = re.compile(r"input_value=(?:\{.*?\}|\[.*?\]|'[^']*'|\"[^\"]*\"|\S+)")
# a credential in a URL (`?token=`, the live stream's form) or a header, even inside a bad
# request line that aiohttp quotes in its own error
QUERY_SECRET = re.compile(r"((?:token|pin|password|secret)=)[^&\s'\"\\]+", re.IGNORECASE)
BEARER = re.compile(r"(bearer\s+)[^\s'\"\\]+", re.IGNORECASE)
REDACTED = "[redacted]"
_SECRETS: set[str] = set()
STRUCTLOG_KEYS = frozenset({"timestamp", "level", "logger", "_record", "_from_structlog"})
MAX_DEPTH = 8


def sensitive(key: object) -> bool:
    k = str(key).lower()
    return k in SENSITIVE_KEYS or any(p in SENSITIVE_PARTS for p in KEY_PARTS.split(k))


def register_secret(value: str | None) -> None:
    """A value (the staff token, the PIN) that must never appear in a log line, in any field."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def scrub_text(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = PYDANTIC_INPUT.sub(f"input_value={REDACTED}", text)
    text = BEARER.sub(rf"\1{REDACTED}", QUERY_SECRET.sub(rf"\1{REDACTED}", text))
    return PHONE.sub(REDACTED, EMAIL.sub(REDACTED, text))


def _scrub(value: Any, depth: int = 0, by_key: bool = True) -> Any:
    """`by_key=False` for tracebacks: their `name` is a function's, only the text is scrubbed."""
    if isinstance(value, str):
        return scrub_text(value)
    if depth >= MAX_DEPTH:  # deeper than any of our payloads: keep nothing rather than leak
        return REDACTED if isinstance(value, dict | list | tuple) else value
    if isinstance(value, dict):
        return {
            k: REDACTED if by_key and sensitive(k) else _scrub(v, depth + 1, by_key)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v, depth + 1, by_key) for v in value]
    if isinstance(value, bytes | bytearray):
        return scrub_text(bytes(value).decode("utf-8", "replace"))
    return value


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: drop guest data and secrets from every field."""
    for key in list(event):
        if key in STRUCTLOG_KEYS:
            continue
        if key == "exception":
            event[key] = _scrub(event[key], by_key=False)
        else:
            event[key] = REDACTED if sensitive(key) else _scrub(event[key])
    return event


def _processors(as_json: bool) -> tuple[list[Any], Any]:
    """(processors up to and including redaction, renderer), shared by structlog and stdlib."""
    exceptions: Any = (
        structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
        if as_json
        else structlog.processors.format_exc_info
    )
    chain: list[Any] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        exceptions,  # before redact, so the traceback text is scrubbed too
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    return chain, renderer


class _CurrentStderr:
    """Whatever sys.stderr is at each write (pytest's capture, a redirect), not at configure."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Ours, so a second configure_logging replaces it instead of doubling every line."""


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    """Set up structlog and route stdlib logging through it; call again to reconfigure."""
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    numeric = logging.getLevelNamesMapping()[level.upper()]
    chain, renderer = _processors(as_json)
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *chain, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    handler = _StderrHandler(_CurrentStderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *chain,
                        renderer],
        )
    )  # fmt: skip
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(numeric, logging.WARNING))  # the libraries' INFO chatter stays out


class Throttle:
    """Warnings rate-limited per reason: a flood of bad input must not flood the journal.

    The first `burst` warnings of one event text in a window are logged; the rest are counted,
    and the next one logged after the window says how many were suppressed."""

    def __init__(self, burst: int = 10, window_s: float = 60.0) -> None:
        self.burst = burst
        self.window_s = window_s
        self._seen: dict[str, tuple[float, int, int]] = {}  # event -> (window start, n, dropped)

    def warning(self, logger: Any, event: str, **fields: Any) -> None:
        now = time.monotonic()
        start, n, dropped = self._seen.get(event, (now, 0, 0))
        if now - start >= self.window_s:
            start, n = now, 0
        if n < self.burst:
            if dropped:
                fields["suppressed"] = dropped
            logger.warning(event, **fields)
            self._seen[event] = (start, n + 1, 0)
        else:
            self._seen[event] = (start, n, dropped + 1)
        if len(self._seen) > 1000:  # reasons are code constants; this only bounds a mistake
            self._seen.clear()
