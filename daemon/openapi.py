"""The OpenAPI 3.1 document, generated from the route table and the pydantic models.

Schemas come from pydantic's `models_json_schema` over the same models the server validates with
(daemon/api_models.py); operations come from daemon/routes.py. Nothing is written twice, so the
document cannot drift from the server (schemathesis checks the real daemon against it).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from floorlink.daemon import api_models as m
from floorlink.daemon.routes import PARAMS, QUERY, QUERY_MAX, ROUTES, Route

REF = "#/components/schemas/{model}"
TEXTS = {
    400: "The request or its body cannot be read (not JSON, too deep, undecodable)",
    401: "A staff PIN or token is needed, or the PIN is wrong",
    404: "No such table, entry, device or PIN",
    408: "The body did not arrive in time",
    409: "Not possible in the current state",
    413: "The body is over 64 KiB",
    422: "The body does not fit the schema, or the service refused it as invalid",
    429: "Too many wrong PINs from this address (Retry-After says how long)",
    500: "Internal error (logged)",
    501: "Not available on this box",
    503: "Floorlink cannot save right now",
}
DESCRIPTION = """\
The host stand's API. Write endpoints need `Authorization: Bearer <credential>`: the staff token,
or a paired device's credential (`POST /api/v1/devices`); reads need it too unless
`http.open_reads` is true. Every error is JSON `{"error": "<sentence>"}`.

Not listed as paths (they are not JSON request/response pairs):
- `GET /api/v1/stream`: Server-Sent Events. One `snapshot` event
  `{"tables", "waitlist", "reservations", "status"}`, then `table` (a Table), `waitlist`
  (the whole list), `reservations` (the whole list) and `status` events, and a `: ping` comment
  every 15 s. EventSource cannot send headers, so this one path also takes `?token=`.
- `GET /`: the host-stand page; `/static/...` its files.
"""


def _models() -> list[type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {"Error": m.Error}
    for route in ROUTES:
        for model in (route.body, route.answer):
            if model is not None:
                seen[model.__name__] = model
    return list(seen.values())


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _operation(route: Route, open_reads: bool) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": route.summary, "operationId": route.handler}
    staff: list[dict[str, list[str]]] = [{"staff": []}]
    errors = list(route.errors)
    if route.auth in ("write", "admin"):
        op["security"] = staff
    elif route.auth == "read":
        op["security"] = [*staff, {}] if open_reads else staff
        if open_reads:
            errors.remove(401)
    if route.auth != "public":
        errors.append(500)
    if route.param is not None:
        pattern, text = PARAMS[route.param]
        op["parameters"] = [
            {
                "name": "id",
                "in": "path",
                "required": True,
                "description": text,
                "schema": {"type": "string", "pattern": pattern},
            }
        ]
    for name in route.query:
        qpattern, qtext = QUERY[name]
        schema: dict[str, Any] = {"type": "string", "maxLength": QUERY_MAX}
        if qpattern is not None:
            schema["pattern"] = qpattern
        op.setdefault("parameters", []).append(
            {"name": name, "in": "query", "required": False, "description": qtext, "schema": schema}
        )
    if route.body is not None:
        op["requestBody"] = {"required": route.body_required, **_json(_ref(route.body))}
    if route.answer is None and route.media is not None:
        binary = {"type": "string", "format": "binary"}
        ok: dict[str, Any] = {"content": {route.media: {"schema": binary}}}
    elif route.answer is None:
        ok = {"content": {"text/plain": {"schema": {"type": "string"}}}}
    else:
        schema = _ref(route.answer)
        ok = _json({"type": "array", "items": schema} if route.many else schema)
    responses: dict[str, Any] = {str(route.ok): {"description": "OK", **ok}}
    for code in sorted(set(errors)):
        answer = route.answer if route.answer is m.Health else m.Error
        responses[str(code)] = {
            "description": TEXTS.get(code, "Unavailable"),
            **_json(_ref(answer)),
        }
    op["responses"] = responses
    return op


@cache
def openapi_document(open_reads: bool = False) -> dict[str, Any]:
    """The document for one box: with open_reads, reads are documented as needing no token."""
    _, defs = models_json_schema([(model, "validation") for model in _models()], ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        if route.documented:
            paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, open_reads)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Floorlink local API", "version": "1", "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"staff": {"type": "http", "scheme": "bearer"}},
        },
    }
