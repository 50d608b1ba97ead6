"""The OpenAPI 3.1 document of the local API, built from the same pydantic models the server
validates with, so the two cannot drift apart (schemathesis checks the server against it)."""

from __future__ import annotations

from functools import cache
from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _responses(ok: dict[str, Any], *codes: int, ok_code: str = "200") -> dict[str, Any]:
    texts = {
        400: "Not JSON",
        401: "A staff PIN or token is needed",
        404: "No such table or entry",
        409: "Not possible in the current state",
        422: "Invalid request",
        429: "Too many attempts",
        501: "Not available on this box",
        503: "Floorlink cannot save right now",
    }
    out: dict[str, Any] = {ok_code: {"description": "OK", **_json(ok)}}
    for code in codes:
        out[str(code)] = {"description": texts[code], **_json(ERROR)}
    return out


def _body(name: str, required: bool = True) -> dict[str, Any]:
    return {"required": required, **_json({"$ref": f"#/components/schemas/{name}"})}


TABLE_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,16}$"},
}
ENTRY_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
}
SECURED: list[dict[str, list[str]]] = [{"staff": []}]
WRITE_ERRORS = (400, 401, 404, 409, 422, 501, 503)


@cache
def openapi_document() -> dict[str, Any]:
    from floorlink.daemon.http import BlockBody, PinBody, SeatBody, SeatEntryBody, WaitlistBody

    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}},
        },
        "Table": {
            "type": "object",
            "required": ["table", "status", "course", "since", "party", "check", "server", "seq"],
            "properties": {
                "table": {"type": "string"},
                "status": {
                    "enum": [
                        "available",
                        "reserved",
                        "seated",
                        "check_dropped",
                        "bussing",
                        "blocked",
                    ]
                },
                "course": {"enum": [None, "apps", "entrees", "dessert"]},
                "since": {"type": ["string", "null"]},
                "party": {"type": ["object", "null"]},
                "check": {"type": ["string", "null"]},
                "server": {"type": ["string", "null"]},
                "seq": {"type": "integer"},
            },
        },
        "WaitlistEntry": {
            "type": "object",
            "required": ["id", "name", "party_size", "pager", "quoted_minutes", "status"],
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "party_size": {"type": "integer"},
                "pager": {"type": ["integer", "null"]},
                "quoted_minutes": {"type": ["integer", "null"]},
                "status": {"enum": ["waiting", "paged", "seated", "left"]},
            },
        },
        "Reservation": {"type": "object"},
        "Status": {
            "type": "object",
            "required": ["ready"],
            "properties": {"ready": {"type": "boolean"}},
        },
        "Token": {
            "type": "object",
            "required": ["token"],
            "properties": {"token": {"type": "string"}},
        },
    }
    for model in (SeatBody, BlockBody, WaitlistBody, SeatEntryBody, PinBody):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schema["additionalProperties"] = False
        schemas[model.__name__] = schema
    table = {"$ref": "#/components/schemas/Table"}
    entry = {"$ref": "#/components/schemas/WaitlistEntry"}

    def write(
        summary: str,
        ok: dict[str, Any],
        param: dict[str, Any] | None,
        body: str | None,
        body_required: bool = True,
        ok_code: str = "200",
    ) -> dict[str, Any]:
        op: dict[str, Any] = {
            "summary": summary,
            "security": SECURED,
            "responses": _responses(ok, *WRITE_ERRORS, ok_code=ok_code),
        }
        if param:
            op["parameters"] = [param]
        if body:
            op["requestBody"] = _body(body, body_required)
        return {"post": op}

    def read(summary: str, ok: dict[str, Any]) -> dict[str, Any]:
        return {"get": {"summary": summary, "security": SECURED, "responses": _responses(ok, 401)}}

    paths: dict[str, Any] = {
        "/api/v1/tables": read(
            "Every table, as published on MQTT", {"type": "array", "items": table}
        ),
        "/api/v1/tables/{id}/seat": write("Seat a party at a table", table, TABLE_ID, "SeatBody"),
        "/api/v1/tables/{id}/clear": write(
            "Clear a bussed or host-seated table", table, TABLE_ID, None
        ),
        "/api/v1/tables/{id}/block": write(
            "Take a table out of service", table, TABLE_ID, "BlockBody", body_required=False
        ),
        "/api/v1/tables/{id}/unblock": write("Put a table back in service", table, TABLE_ID, None),
        "/api/v1/waitlist": {
            **read("The waitlist", {"type": "array", "items": entry}),
            **write(
                "Add a party to the waitlist, with its quote",
                entry,
                None,
                "WaitlistBody",
                ok_code="201",
            ),
        },
        "/api/v1/waitlist/{id}/page": write("Page a waiting party now", entry, ENTRY_ID, None),
        "/api/v1/waitlist/{id}/seat": write(
            "Seat a waiting party at a table", entry, ENTRY_ID, "SeatEntryBody"
        ),
        "/api/v1/waitlist/{id}/left": write("Mark a waiting party as gone", entry, ENTRY_ID, None),
        "/api/v1/reservations": read(
            "Upcoming reservations",
            {"type": "array", "items": {"$ref": "#/components/schemas/Reservation"}},
        ),
        "/api/v1/status": read("Connections and health", {"$ref": "#/components/schemas/Status"}),
        "/api/v1/session": {
            "post": {
                "summary": "Trade the staff PIN for the staff token",
                "requestBody": _body("PinBody"),
                "responses": _responses(
                    {"$ref": "#/components/schemas/Token"}, 400, 401, 404, 422, 429
                ),
            }
        },
        "/healthz": {
            "get": {
                "summary": "Ready: store open and broker connected",
                "responses": {
                    "200": {"description": "ready", **_json({"type": "object"})},
                    "503": {"description": "not ready", **_json({"type": "object"})},
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Floorlink local API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"staff": {"type": "http", "scheme": "bearer"}},
        },
    }
