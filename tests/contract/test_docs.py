"""The documents say what the code does: every MQTT topic in daemon/topics.py is in docs/mqtt.md."""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import Path

from floorlink.daemon import topics

ROOT = Path(__file__).resolve().parents[2]


def test_every_topic_is_documented_and_every_documented_topic_exists() -> None:
    doc = (ROOT / "docs" / "mqtt.md").read_text()
    documented = set(re.findall(r"^## `([^`]+)`", doc, flags=re.M))
    in_code = {pattern.replace("+", "{terminal}") for pattern, _, _ in topics.ALL}
    assert documented == in_code


def test_every_metric_in_the_dashboard_exists() -> None:
    import json

    from floorlink.daemon import metrics

    defined = {
        m._name for m in vars(metrics).values() if hasattr(m, "_name") and hasattr(m, "_type")
    }
    dashboard = json.loads((ROOT / "config" / "grafana" / "floorlink.json").read_text())
    used = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used |= set(re.findall(r"floorlink_[a-z_]+", target["expr"]))
    known = defined | {f"{n}_total" for n in defined} | {f"{n}_bucket" for n in defined}
    assert used <= known, used - known


def test_openapi_documents_every_api_route() -> None:
    from floorlink.daemon.http import HttpSettings, make_app
    from floorlink.daemon.openapi import openapi_document

    app = make_app(object(), HttpSettings(staff_token="x" * 12))  # type: ignore[arg-type]
    routes = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None
        and r.resource.canonical.startswith("/api/v1/")
        and r.method != "HEAD"
    }
    documented = {
        (method.upper(), path)
        for path, ops in openapi_document()["paths"].items()
        for method in ops
        if path.startswith("/api/v1/")
    }
    undocumented = (
        routes
        - documented
        - {
            ("GET", "/api/v1/stream"),  # Server-Sent Events: described in docs/http.md
            ("GET", "/api/v1/openapi.json"),
            # first-run setup: served by daemon/setup_mode.py on a box never set up (documented
            # in docs/install.md); the daemon's copies only answer 409
            ("*", "/api/v1/setup"),
            ("*", "/api/v1/setup/pager-test"),
        }
    )
    assert not undocumented
    assert documented <= routes


def test_generated_documents_are_current() -> None:
    """docs/table-rules.md and docs/events.md are rendered from the core's tables: run
    `make docs` after changing a rule or an event type."""
    from floorlink.daemon.docgen import GENERATED

    for path, make in GENERATED.items():
        assert path.read_text() == make(), f"{path.name} is stale: run `make docs`"


def test_every_pos_event_type_is_documented_for_terminals() -> None:
    """The MQTT document lists exactly the POS types of the registry, with their fields."""
    from floorlink.daemon.core.events import EVENTS, POS_EVENTS

    doc = (ROOT / "docs" / "mqtt.md").read_text()
    row = next(line for line in doc.splitlines() if line.startswith("| type |"))
    assert re.findall(r"`([a-z_.]+)`", row) == list(POS_EVENTS)
    where: dict[str, list[str]] = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and not line.startswith("|---"):
            for name in cells[0].split(", "):
                where[name] = re.findall(r"[a-z_]+\.[a-z_*]+", cells[2])
    for etype in POS_EVENTS:
        for field in EVENTS[etype].field_names():
            assert any(fnmatch(etype, pat) for pat in where.get(field, [])), (etype, field)
