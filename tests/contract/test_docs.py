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
        }
    )
    assert not undocumented
    assert documented <= routes
