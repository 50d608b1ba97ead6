"""Three vendor layouts, one set of contract events: the patterns find each field, the events
validate as MQTT ones do, and a reprint has the same ids (a duplicate, not a second check)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from receipt_support import BISTRO, LAYOUTS, render, sample_check

from floorlink.drivers.escpos import Decoder, Document
from floorlink.drivers.receipt_patterns import Layout, NotAnEvent, recognise, to_events

TABLES = ("4", "12")


def _doc(data: bytes) -> Document:
    (doc,) = Decoder().feed(data)
    return doc


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_each_layout_becomes_the_same_events(name: str) -> None:
    layout = Layout.model_validate(LAYOUTS[name])
    check = sample_check()
    seen: str | None = None
    types = []
    for kind, course in (("kitchen", "apps"), ("kitchen", "entrees"), ("check", None)):
        rec = recognise(_doc(render(name, kind, check, course)), layout)
        assert rec.kind == kind and rec.fields["check"] == "1042" and rec.fields["table"] == "12"
        assert rec.matched["check"] == layout.check
        events = to_events(rec, layout, seen, TABLES)
        seen = "12"
        types += [e.type for e in events]
    rec = recognise(_doc(render(name, "receipt", check)), layout)
    (closed,) = to_events(rec, layout, seen, TABLES)
    assert closed.type == "check.closed" and closed.data["total"] == "159.00"
    assert closed.data["tip"] in ("8.00", "5.00", "2.50")
    assert types[0] == "check.opened" and types.count("check.opened") == 1
    assert "check.course_fired" in types and types[-1] == "check.printed"
    rec = recognise(_doc(render(name, "void", check)), layout)
    assert [e.type for e in to_events(rec, layout, seen, TABLES)] == ["check.voided"]


def test_items_quantities_courses_and_guests() -> None:
    layout = Layout.model_validate(LAYOUTS["bistro"])
    rec = recognise(_doc(render("bistro", "kitchen", sample_check(), "apps")), layout)
    events = {e.type: e for e in to_events(rec, layout, None, TABLES)}
    assert events["check.opened"].data == {
        "check": "1042",
        "table": "12",
        "guests": 3,
        "server": "ana",
    }
    assert events["check.items_added"].data["items"] == [
        {"name": "Burrata", "qty": 1, "price": "14.00"},
        {"name": "Calamari", "qty": 2, "price": "16.50"},
    ]
    assert events["check.course_fired"].data == {"check": "1042", "course": "apps"}


def test_a_reprint_has_the_same_ids() -> None:
    layout = Layout.model_validate(LAYOUTS["bistro"])
    first = render("bistro", "check", sample_check(), printed="19:31")
    again = render("bistro", "check", sample_check(), printed="19:48", reprint=True)
    assert first != again
    ids = [
        [e.eid for e in to_events(recognise(_doc(d), layout), layout, "12", TABLES)]
        for d in (first, again)
    ]
    assert ids[0] == ids[1]


def test_a_moved_check_is_transferred_and_unknown_tables_are_refused() -> None:
    layout = Layout.model_validate(LAYOUTS["counter"])
    rec = recognise(_doc(render("counter", "check", sample_check(table="4"))), layout)
    assert [e.type for e in to_events(rec, layout, "12", TABLES)] == [
        "check.transferred",
        "check.printed",
    ]
    with pytest.raises(NotAnEvent, match="'4' is not in this site's config"):
        to_events(rec, layout, None, ("12",))


def test_a_receipt_without_a_total_or_check_is_not_an_event() -> None:
    layout = Layout.model_validate(LAYOUTS["bistro"] | {"total": "^NOPE (\\S+)", "subtotal": None})
    rec = recognise(_doc(render("bistro", "receipt", sample_check())), layout)
    with pytest.raises(NotAnEvent, match="no total"):
        to_events(rec, layout, None, TABLES)
    rec.fields.pop("check")
    with pytest.raises(NotAnEvent, match="no check number"):
        to_events(rec, layout, None, TABLES)


def test_bad_patterns_are_config_errors() -> None:
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        Layout.model_validate(LAYOUTS["bistro"] | {"table": "Table (\\w+"})
    with pytest.raises(ValidationError, match="named groups price"):
        Layout.model_validate(LAYOUTS["bistro"] | {"item": "(?P<name>.+)"})
    with pytest.raises(ValidationError):
        Layout.model_validate(LAYOUTS["bistro"] | {"courses": {"MAINS": "mains"}})


def test_layout_errors_name_their_key_path(tmp_path: Path) -> None:
    from receipt_support import layout_toml
    from support import write_config

    from floorlink.daemon.config import ConfigError, load_config

    bad = dict(BISTRO) | {"table": "Table (\\w+", "courses": {"MAINS": "mains"}}
    extra = (
        '[[inputs]]\nkind = "receipt-tcp"\nname = "kitchen"\nprinter_host = "10.0.0.5"\n'
        "printer_port = 70000\n" + layout_toml(bad)
    )
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path / "floorlink.toml", 1883, 8080, extra=extra))
    text = "\n".join(err.value.errors)
    assert "inputs[0].printer_port:" in text
    assert "inputs[0].layout.table: pattern: not a valid regular expression" in text
    assert "inputs[0].layout.courses.MAINS:" in text
