"""Schemathesis drives the real daemon's API from its own OpenAPI document.

It runs as its own CLI against the daemon on loopback (its pytest plugin does not load under
pytest 9): every operation, generated bodies and parameters, every check.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support import STAFF_TOKEN, Daemon, run_schemathesis

from floorlink.daemon import api_models
from floorlink.daemon.openapi import openapi_document
from floorlink.daemon.routes import ROUTES


def test_api_matches_its_openapi_document(daemon: Daemon, tmp_path: Path) -> None:
    result = run_schemathesis(daemon.url, STAFF_TOKEN, tmp_path, 30, 1)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_the_document_comes_from_the_models_and_routes_without_the_server() -> None:
    """No import circle: the document is built from daemon/routes.py and daemon/api_models.py
    alone, and every operation's schemas are the pydantic models' own."""
    code = (
        "import sys; from floorlink.daemon.openapi import openapi_document; openapi_document(); "
        "assert 'floorlink.daemon.http' not in sys.modules, 'openapi imports http'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    doc = openapi_document()
    schemas = doc["components"]["schemas"]
    assert (
        schemas["SeatBody"]["properties"] == (api_models.SeatBody.model_json_schema()["properties"])
    )
    for route in ROUTES:
        op = doc["paths"].get(route.path, {}).get(route.method.lower())
        assert (op is not None) == route.documented, route.path
        if op is not None and route.auth in ("write", "admin"):
            assert op["security"] == [{"staff": []}]
