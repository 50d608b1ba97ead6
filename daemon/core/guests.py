"""Who a reservation's guest is: the keys that match a returning guest (pure, no I/O).

A phone is normalised to E.164 with `phonenumbers` from the site's country ("(312) 555-0101"
and "+1 312 555 0101" are one guest); an email is trimmed and lower-cased. The name is only a
tie-break, used when a guest left neither. Shared by the reservations part (the visit summary on
the POS guest topic, folded with the events) and daemon/profiles.py (the profiles table).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import phonenumbers


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
