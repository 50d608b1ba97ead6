"""Printed documents -> POS check events, through patterns written for one POS's layout.

Every POS prints its own way ("Table 12", "TBL: 12", "T12"), so nothing here knows a vendor: a
`Layout` (TOML under `[inputs.layout]`, validated) holds one regular expression per field and per
kind of document, and `recognise` reports which pattern matched each field, for `floorlink
receipts test` and the page. `to_events` turns a recognised document into contract events
(section 3): kitchen ticket -> `check.course_fired` / `check.items_added`, guest check ->
`check.printed`, payment receipt -> `check.closed`, void -> `check.voided`, each preceded by
`check.opened` the first time a check is seen. Event ids come from the document's content, so
the same document printed twice is the same event: a reprint is answered `duplicate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from floorlink.daemon.core import events as ev
from floorlink.drivers.escpos import Document
from floorlink.drivers.pos import REQUIRED, PosEvent

Kind = Literal["void", "receipt", "check", "kitchen"]
#: The order kinds are tried in: a voided receipt is a void, a paid check is a receipt.
KIND_ORDER: tuple[Kind, ...] = ("void", "receipt", "check", "kitchen")
COURSES = ("apps", "entrees", "dessert")

Pattern = Annotated[str, Field(min_length=1, max_length=500)]


def _compile(value: str, what: str) -> str:
    try:
        re.compile(value, re.MULTILINE | re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"{what}: not a valid regular expression: {exc}") from None
    return value


class Kinds(BaseModel):
    """A pattern per kind of document, matched anywhere in its text."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    void: Pattern | None = None
    receipt: Pattern | None = None
    check: Pattern | None = None
    kitchen: Pattern | None = None

    @field_validator("void", "receipt", "check", "kitchen")
    @classmethod
    def _valid(cls, v: str | None) -> str | None:
        return None if v is None else _compile(v, "pattern")


class Layout(BaseModel):
    """One POS layout. Field patterns capture their value in group 1 (or a group named like the
    field); `item` captures `name`, `price` and optionally `qty`. Patterns are case-insensitive
    and multi-line (`^` and `$` match at each printed line)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    kinds: Kinds
    check: Pattern
    table: Pattern | None = None
    server: Pattern | None = None
    guests: Pattern | None = None
    course: Pattern | None = None
    item: Pattern | None = None
    subtotal: Pattern | None = None
    total: Pattern | None = None
    tip: Pattern | None = None
    #: printed course name (lower case) -> contract course
    courses: dict[str, Literal["apps", "entrees", "dessert"]] = Field(default_factory=dict)
    #: the course a kitchen ticket fires when it names none (None: items only)
    default_course: Literal["apps", "entrees", "dessert"] | None = None
    #: lines left out of the content hash (a "REPRINT" banner, the time it was printed)
    ignore: list[Pattern] = Field(default_factory=list)
    decimal_comma: bool = False

    @field_validator(
        "check", "table", "server", "guests", "course", "item", "subtotal", "total", "tip"
    )
    @classmethod
    def _valid(cls, v: str | None) -> str | None:
        return None if v is None else _compile(v, "pattern")

    @field_validator("item")
    @classmethod
    def _item_groups(cls, v: str | None) -> str | None:
        if v is not None:
            groups = re.compile(v).groupindex
            missing = [g for g in ("name", "price") if g not in groups]
            if missing:
                raise ValueError(f"item pattern needs named groups {', '.join(missing)}")
        return v

    @field_validator("ignore")
    @classmethod
    def _valid_list(cls, v: list[str]) -> list[str]:
        return [_compile(p, "ignore pattern") for p in v]

    @field_validator("courses")
    @classmethod
    def _lower(cls, v: dict[str, str]) -> dict[str, str]:
        return {k.strip().lower(): c for k, c in v.items()}


FIELDS = ("check", "table", "server", "guests", "course", "subtotal", "total", "tip")


@dataclass(slots=True)
class Recognised:
    """What the layout found in one document, and which pattern found it."""

    kind: Kind | None
    fields: dict[str, str] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    matched: dict[str, str] = field(default_factory=dict)  # field -> the pattern that matched
    problems: list[str] = field(default_factory=list)
    digest: str = ""


def _flags() -> re.RegexFlag:
    return re.MULTILINE | re.IGNORECASE


def _value(m: re.Match[str], name: str) -> str:
    if name in m.re.groupindex:
        return (m.group(name) or "").strip()
    return (m.group(1) if m.re.groups else m.group(0)).strip()


def money(text: str, decimal_comma: bool = False) -> str | None:
    """ "$1,234.5" -> "1234.50"; None when it is not an amount."""
    s = re.sub(r"[^\d,.\-]", "", text)
    s = s.replace(".", "").replace(",", ".") if decimal_comma else s.replace(",", "")
    try:
        d = Decimal(s)
    except InvalidOperation:
        return None
    if not d.is_finite() or abs(d) >= Decimal(10) ** 9:
        return None
    return str(d.quantize(Decimal("0.01")))


def recognise(doc: Document, layout: Layout) -> Recognised:
    ignore = [re.compile(p, _flags()) for p in layout.ignore]
    lines = [ln for ln in doc.lines if not any(p.search(ln) for p in ignore)]
    text = "\n".join(lines)
    skip = tuple(ln.strip() for ln in doc.lines if ln not in lines)
    out = Recognised(kind=None, digest=doc.content_hash(skip))
    for kind in KIND_ORDER:
        pattern = getattr(layout.kinds, kind)
        if pattern is not None and re.search(pattern, text, _flags()):
            out.kind = kind
            out.matched["kind"] = pattern
            break
    for name in FIELDS:
        pattern = getattr(layout, name)
        if pattern is None:
            continue
        m = re.search(pattern, text, _flags())
        if m is None:
            continue
        value = _value(m, name)
        if name in ("subtotal", "total", "tip"):
            amount = money(value, layout.decimal_comma)
            if amount is None:
                out.problems.append(f"{name}: {value!r} is not an amount")
                continue
            value = amount
        if value:
            out.fields[name] = value
            out.matched[name] = pattern
    if layout.item is not None:
        for m in re.finditer(layout.item, text, _flags()):
            price = money(m.group("price"), layout.decimal_comma)
            qty_text = m.groupdict().get("qty")
            name = m.group("name").strip()
            if price is None or not name:
                out.problems.append(f"item line {m.group(0).strip()!r}: no name or price")
                continue
            qty = int(qty_text) if qty_text and qty_text.isdigit() else 1
            out.items.append({"name": name[:200], "qty": max(1, min(qty, 10_000)), "price": price})
        if out.items:
            out.matched["items"] = layout.item
    return out


@dataclass(frozen=True, slots=True)
class Planned:
    """One contract event a document becomes (before the source stamps and submits it)."""

    eid: str
    type: str
    data: dict[str, Any]


class NotAnEvent(Exception):
    """A document of a known kind that cannot become an event (no check number, ...)."""


def _course(rec: Recognised, layout: Layout) -> str | None:
    printed = rec.fields.get("course")
    if printed is not None:
        key = printed.strip().lower()
        if key in layout.courses:
            return layout.courses[key]
        if key in COURSES:
            return key
    return layout.default_course


def to_events(
    rec: Recognised, layout: Layout, seen_table: str | None, tables: tuple[str, ...]
) -> list[Planned]:
    """The events a recognised document stands for. `seen_table` is where this source last saw
    the check (None: never), so the first document of a check opens it and a new table moves it.
    Raises NotAnEvent with a sentence for the integrator."""
    if rec.kind is None:
        return []
    check = rec.fields.get("check")
    if not check:
        raise NotAnEvent(f"a {rec.kind} document with no check number")
    digest = rec.digest[:32]
    table = rec.fields.get("table")
    if table is not None and table not in tables:
        raise NotAnEvent(f"table {table!r} is not in this site's config")
    out: list[Planned] = []
    if table is not None and seen_table is None:
        opened: dict[str, Any] = {"check": check, "table": table}
        if "guests" in rec.fields and rec.fields["guests"].isdigit():
            opened["guests"] = int(rec.fields["guests"])
        if "server" in rec.fields:
            opened["server"] = rec.fields["server"][:64]
        out.append(Planned(f"{digest}:opened", ev.CheckOpened.TYPE, opened))
    elif table is not None and seen_table != table:
        out.append(
            Planned(f"{digest}:moved", ev.CheckTransferred.TYPE, {"check": check, "table": table})
        )
    if rec.kind == "kitchen":
        if rec.items:
            items = [dict(i) for i in rec.items]
            out.append(
                Planned(
                    f"{digest}:items", ev.CheckItemsAdded.TYPE, {"check": check, "items": items}
                )
            )
        course = _course(rec, layout)
        if course is not None:
            out.append(
                Planned(digest, ev.CheckCourseFired.TYPE, {"check": check, "course": course})
            )
        elif not rec.items:
            raise NotAnEvent("a kitchen ticket with no course and no items")
    elif rec.kind == "check":
        out.append(Planned(digest, ev.CheckPrinted.TYPE, {"check": check}))
    elif rec.kind == "receipt":
        total = rec.fields.get("total") or rec.fields.get("subtotal")
        if total is None:
            raise NotAnEvent("a payment receipt with no total")
        data: dict[str, Any] = {"check": check, "total": total}
        if "tip" in rec.fields:
            data["tip"] = rec.fields["tip"]
        out.append(Planned(digest, ev.CheckClosed.TYPE, data))
    elif rec.kind == "void":
        out.append(Planned(digest, ev.CheckVoided.TYPE, {"check": check}))
    for planned in out:
        _validate(planned)
    return out


def _validate(planned: Planned) -> None:
    """The same checks an MQTT payload gets (drivers/pos.py), so both intakes agree."""
    body = {"id": planned.eid, "type": planned.type, "at": "2000-01-01T00:00:00Z"}
    try:
        PosEvent.model_validate(body | planned.data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise NotAnEvent(f"{planned.type}: {loc}: {err['msg']}") from None
    missing = [f for f in REQUIRED[planned.type] if f not in planned.data]
    if missing:
        raise NotAnEvent(f"{planned.type} needs {', '.join(missing)}")
