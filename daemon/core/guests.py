"""Who a reservation's guest is: the keys that match a returning guest (pure, no I/O).

A phone is normalised to E.164 with `phonenumbers` from the site's country ("(312) 555-0101"
and "+1 312 555 0101" are one guest); an email is trimmed and lower-cased. The name is only a
tie-break, used when a guest left neither. Shared by the reservations part (the visit summary on
the POS guest topic, folded with the events) and daemon/profiles.py (the profiles table).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import phonenumbers

from floorlink.daemon.core.events import GuestMerge, GuestMerged, GuestUnmerge, GuestUnmerged
from floorlink.daemon.core.reasons import Rejected
from floorlink.daemon.core.state import Event, Input

if TYPE_CHECKING:
    from floorlink.daemon.core.state import State


def normalise_phone(raw: object, country: str) -> str | None:
    """E.164 of a phone as a host or a booking site typed it; None if it is not a valid one."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        parsed = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalise_email(raw: object) -> str | None:
    if not isinstance(raw, str) or "@" not in raw:
        return None
    return raw.strip().lower()


def normalise_name(raw: object) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    return " ".join(raw.split()).casefold()


def guest_keys(guest: Mapping[str, Any], country: str) -> list[str]:
    """The matching keys of a guest, strongest first: phone, email; the name only without both."""
    phone = normalise_phone(guest.get("phone"), country)
    email = normalise_email(guest.get("email"))
    keys = [f"phone:{phone}"] * bool(phone) + [f"email:{email}"] * bool(email)
    if not keys:
        name = normalise_name(guest.get("name"))
        keys = [f"name:{name}"] if name else []
    return keys


# ---- merges: duplicates the matching could not see, joined by the host --------------------

NAME = "guests"


@dataclass
class GuestsPart:
    """The merges of duplicate guest profiles, as events (`guest.merged`, `guest.unmerged`), so
    the profiles built from the log (daemon/profiles.py) are the same on every replay and every
    merge can be undone. A merge names one reservation of each profile: a profile's id changes
    when its reservations do, a reservation's never does. Merges are few; all are kept, undone
    ones marked, as their history."""

    name: str = NAME
    merges: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> a, b, by, undone

    def handles(self, itype: str) -> bool:
        return itype in (GuestMerge.TYPE, GuestUnmerge.TYPE)

    def decide(
        self, state: State, inp: Input
    ) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
        if inp.type == GuestMerge.TYPE:
            body = GuestMerge.parse(inp.data)
            a, b = body.a.strip(), body.b.strip()
            if not a or not b or len(a) > 128 or len(b) > 128:
                raise Rejected("bad_field", "a, b: one reservation id of each guest")
            if a == b:
                raise Rejected("bad_field", "a and b are the same reservation")
            pair = {a, b}
            for mid, m in self.merges.items():
                if not m["undone"] and {m["a"], m["b"]} == pair:
                    raise Rejected("duplicate_merge", f"these guests are already merged ({mid})")
            mid = f"m{len(self.merges) + 1}"
            data = {"merge": mid, "a": min(a, b), "b": max(a, b), "by": body.by or inp.source}
            return [(GuestMerged.TYPE, data)], dict(data)
        undo = GuestUnmerge.parse(inp.data)
        done = self.merges.get(undo.merge)
        if done is None:
            raise Rejected("unknown_merge", f"There is no merge {undo.merge[:64]}.")
        if done["undone"]:
            raise Rejected("duplicate_merge", f"merge {undo.merge[:64]} is already undone")
        data = {"merge": undo.merge, "by": undo.by or inp.source}
        return [(GuestUnmerged.TYPE, data)], {**data, "a": done["a"], "b": done["b"]}

    def apply(self, event: Event) -> None:
        d = event.data
        if event.type == GuestMerged.TYPE:
            self.merges[str(d["merge"])] = {
                "a": d["a"], "b": d["b"], "by": d["by"], "at": event.at, "undone": None,
            }  # fmt: skip
        elif event.type == GuestUnmerged.TYPE and str(d["merge"]) in self.merges:
            self.merges[str(d["merge"])]["undone"] = event.at

    def react(
        self, state: State, event: Event, changed: list[str]
    ) -> tuple[list[Input], list[tuple[str, str, str, dict[str, Any]]]]:
        return [], []

    def active(self) -> list[tuple[str, str]]:
        return [(m["a"], m["b"]) for m in self.merges.values() if not m["undone"]]

    def to_json(self) -> dict[str, Any]:
        return {"merges": {k: dict(v) for k, v in self.merges.items()}}

    def load_json(self, raw: Mapping[str, Any]) -> None:
        self.merges = {k: dict(v) for k, v in raw.get("merges", {}).items()}
