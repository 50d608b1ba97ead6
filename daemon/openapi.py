"""The OpenAPI 3.1 document of the local API.

Request bodies come from the same pydantic models the server validates with, so the two cannot
drift apart; response shapes follow what daemon/http.py answers (schemathesis checks the real
server against this document, tests/http/test_schemathesis*.py).
"""

from __future__ import annotations

from functools import cache
from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
TEXTS = {
    400: "The body is not JSON",
    401: "A staff PIN or token is needed",
    404: "No such table, entry or PIN",
    409: "Not possible in the current state",
    413: "The body is over 64 KiB",
    422: "The body does not fit the schema, or the service refused it as invalid",
    429: "Too many PIN attempts from this address",
    500: "Internal error (logged)",
    501: "Not available on this box",
    503: "Floorlink cannot save right now",
}
WRITE_ERRORS = (400, 401, 404, 409, 413, 422, 500, 501, 503)
DESCRIPTION = """\
The host stand's API. Write endpoints need `Authorization: Bearer <staff token>`; reads need it
too unless `http.open_reads` is true. Every error is JSON `{"error": "<sentence>"}`.

Not listed as paths (they are not JSON request/response pairs):
- `GET /api/v1/stream`: Server-Sent Events. One `snapshot` event
  `{"tables", "waitlist", "reservations", "status"}`, then `table` (a Table), `waitlist`
  (the whole list), `reservations` (the whole list) and `status` events, and a `: ping` comment
  every 15 s. EventSource cannot send headers, so this one path also takes `?token=`.
- `GET /`: the host-stand page; `/static/...` its files.
"""


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _responses(ok: dict[str, Any], *codes: int, ok_code: str = "200") -> dict[str, Any]:
    out: dict[str, Any] = {ok_code: {"description": "OK", **_json(ok)}}
    for code in codes:
        out[str(code)] = {"description": TEXTS[code], **_json(ERROR)}
    return out


def _body(name: str, required: bool = True) -> dict[str, Any]:
    return {"required": required, **_json({"$ref": f"#/components/schemas/{name}"})}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


TABLE_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "A table id from the config",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,16}$"},
}
ENTRY_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "A waitlist entry id, as the waitlist lists it",
    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
}
STATUSES = ["available", "reserved", "seated", "check_dropped", "bussing", "blocked"]

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string", "description": "A sentence a host can read"}},
        "additionalProperties": False,
    },
    "Party": {
        "type": "object",
        "required": ["size"],
        "properties": {
            "size": _nullable("integer"),
            "name": _nullable("string"),
            "source": {"type": "string", "description": "walk_in, reservation, waitlist, ..."},
            "reservation": _nullable("string"),
            "waitlist": _nullable("string"),
            "vip": {"type": "boolean"},
        },
    },
    "Table": {
        "type": "object",
        "description": "The table object of contract section 4, with Floorlink's additions "
        "and the floor-plan fields of the config.",
        "required": ["table", "status", "course", "since", "party", "check", "server", "seq"],
        "properties": {
            "table": {"type": "string"},
            "status": {"enum": STATUSES},
            "course": {"enum": [None, "apps", "entrees", "dessert"]},
            "since": _nullable("string"),
            "party": {"anyOf": [_ref("Party"), {"type": "null"}]},
            "check": _nullable("string"),
            "server": _nullable("string"),
            "seq": {"type": "integer", "minimum": 0},
            "seats": {"type": "integer", "minimum": 1},
            "section": {"type": "string"},
            "x": _nullable("number"),
            "y": _nullable("number"),
            "shape": _nullable("string"),
            "checks": {"type": "array", "items": {"type": "string"}},
            "guests": _nullable("integer"),
            "course_since": _nullable("string"),
            "blocked_reason": _nullable("string"),
            "held_for": _nullable("string"),
        },
    },
    "WaitlistEntry": {
        "type": "object",
        "required": ["id", "name", "party_size", "pager", "quoted_minutes", "status"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "party_size": {"type": "integer", "minimum": 1},
            "pager": _nullable("integer"),
            "phone": _nullable("string"),
            "notes": _nullable("string"),
            "quoted_minutes": _nullable("integer"),
            "status": {"enum": ["waiting", "paged", "seated", "left"]},
            "added_at": _nullable("string"),
            "paged_at": _nullable("string"),
            "pages": {"type": "integer", "minimum": 0},
            "table": _nullable("string"),
            "waited_minutes": {"type": "integer", "minimum": 0},
        },
    },
    "Reservation": {
        "type": "object",
        "required": ["id", "time", "status", "held"],
        "properties": {
            "id": {"type": "string"},
            "time": {"type": "string", "description": "RFC 3339, the site's offset"},
            "party_size": _nullable("integer"),
            "name": _nullable("string"),
            "vip": {"type": "boolean"},
            "table": _nullable("string"),
            "status": {"type": "string"},
            "held": {"type": "boolean", "description": "its table is held for it now"},
        },
    },
    "Status": {
        "type": "object",
        "required": ["store", "broker", "cloud", "pager", "ready", "reasons"],
        "properties": {
            "store": {"type": "boolean"},
            "store_writable": {"type": "boolean"},
            "clock_jump": {"type": ["object", "null"]},
            "broker": {"type": "boolean"},
            "cloud": {"enum": ["ok", "down", "disabled"]},
            "pager": {"enum": ["ok", "down", "disabled"]},
            "ready": {"type": "boolean"},
            "site": {"type": "string"},
            "site_name": {"type": "string"},
            "timezone": {"type": "string"},
            "version": {"type": "string"},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "outbox_alarm": {"type": "boolean"},
            "conflicts": {"type": "array", "items": {"type": "object"}},
            "degraded": {"type": "array", "items": {"type": "string"}},
            "components": {"type": "object"},
        },
    },
    "Token": {
        "type": "object",
        "required": ["token"],
        "properties": {"token": {"type": "string"}},
        "additionalProperties": False,
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"enum": ["ok", "unavailable"]},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "degraded": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": False,
    },
}


@cache
def openapi_document(open_reads: bool = False) -> dict[str, Any]:
    """The document for one box: with open_reads, reads are documented as needing no token."""
    from floorlink.daemon.http import BlockBody, PinBody, SeatBody, SeatEntryBody, WaitlistBody

    schemas = dict(SCHEMAS)
    for model in (SeatBody, BlockBody, WaitlistBody, SeatEntryBody, PinBody):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schema["additionalProperties"] = False
        schemas[model.__name__] = schema
    staff: list[dict[str, list[str]]] = [{"staff": []}]
    reads_security = [*staff, {}] if open_reads else staff
    table, entry = _ref("Table"), _ref("WaitlistEntry")

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
            "security": staff,
            "responses": _responses(ok, *WRITE_ERRORS, ok_code=ok_code),
        }
        if param:
            op["parameters"] = [param]
        if body:
            op["requestBody"] = _body(body, body_required)
        return {"post": op}

    def read(summary: str, ok: dict[str, Any]) -> dict[str, Any]:
        codes = (500,) if open_reads else (401, 500)
        return {
            "get": {
                "summary": summary,
                "security": reads_security,
                "responses": _responses(ok, *codes),
            }
        }

    paths: dict[str, Any] = {
        "/api/v1/tables": read(
            "Every table, as published on MQTT", {"type": "array", "items": table}
        ),
        "/api/v1/tables/{id}/seat": write(
            "Seat a party at a table; answers the table", table, TABLE_ID, "SeatBody"
        ),
        "/api/v1/tables/{id}/clear": write(
            "Clear a bussing (or host-seated) table; answers the table", table, TABLE_ID, None
        ),
        "/api/v1/tables/{id}/block": write(
            "Take a table out of service; answers the table",
            table,
            TABLE_ID,
            "BlockBody",
            body_required=False,
        ),
        "/api/v1/tables/{id}/unblock": write(
            "Put a table back in service; answers the table", table, TABLE_ID, None
        ),
        "/api/v1/waitlist": {
            **read(
                "The waitlist: waiting and paged, then recently seated or left",
                {"type": "array", "items": entry},
            ),
            **write(
                "Add a party to the waitlist; answers the entry with its quote",
                entry,
                None,
                "WaitlistBody",
                ok_code="201",
            ),
        },
        "/api/v1/waitlist/{id}/page": write(
            "Page a waiting party now; answers the entry", entry, ENTRY_ID, None
        ),
        "/api/v1/waitlist/{id}/seat": write(
            "Seat a waiting party at a table; answers the entry",
            entry,
            ENTRY_ID,
            "SeatEntryBody",
        ),
        "/api/v1/waitlist/{id}/left": write(
            "Mark a waiting party as gone; answers the entry", entry, ENTRY_ID, None
        ),
        "/api/v1/reservations": read(
            "Upcoming reservations, with held tables",
            {"type": "array", "items": _ref("Reservation")},
        ),
        "/api/v1/status": read("Connections and health, for the banners", _ref("Status")),
        "/api/v1/session": {
            "post": {
                "summary": "Trade the staff PIN for the staff token (rate-limited per address)",
                "requestBody": _body("PinBody"),
                "responses": _responses(_ref("Token"), 400, 401, 404, 413, 422, 429),
            }
        },
        "/healthz": {
            "get": {
                "summary": "Ready: the store is open and the broker connected",
                "responses": {
                    "200": {"description": "ready", **_json(_ref("Health"))},
                    "503": {"description": "not ready, with the reasons", **_json(_ref("Health"))},
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus text format: floorlink_* series",
                "responses": {
                    "200": {
                        "description": "the metrics",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Floorlink local API", "version": "1", "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"staff": {"type": "http", "scheme": "bearer"}},
        },
    }
