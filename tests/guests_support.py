"""Five visits of two guests (Ana under three spellings of her contact, Bo with a name only),
shared by the profile, privacy and running-daemon guest tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

TZ = ZoneInfo("America/Chicago")
NIGHT = datetime(2026, 11, 2, 18, tzinfo=TZ)


def _res(rid: str, day: int, **guest: Any) -> dict[str, Any]:
    at = (NIGHT + timedelta(days=day)).isoformat()
    return {"id": rid, "status": "confirmed", "time": at, "party_size": 2, "source": "online",
            "guest": guest, "updated_at": at}  # fmt: skip


VISITS: list[tuple[str, int, dict[str, Any], str, list[dict[str, Any]]]] = [
    # Ana books online with her mobile, then by phone with a spaced-out local number, then with
    # only her email; Bo has no phone or email and a name of his own.
    ("r1", 0, {"name": "Ana Ruiz", "phone": "+1 312 555 0101", "email": "Ana@Example.com",
               "vip": True, "allergies": "shellfish"}, "100.00",
     [{"name": "ribeye", "qty": 1, "price": "60.00"}, {"name": "tart", "qty": 1, "price": "12"}]),
    ("r2", 7, {"name": "Ana R.", "phone": "(312) 555-0101"}, "140.50",
     [{"name": "ribeye", "qty": 2, "price": "60.00"}]),
    ("r3", 14, {"name": "Ana Ruiz", "email": "ana@example.com "}, "80.25",
     [{"name": "ribeye", "qty": 1, "price": "60.00"}, {"name": "soup", "qty": 1, "price": "9"}]),
    ("r4", 1, {"name": "Bo Chen"}, "55.00", [{"name": "soup", "qty": 2, "price": "9"}]),
    ("r5", 2, {"name": "Ana Ruiz"}, "20.00", []),  # no phone or email: the name ties her to Ana
]  # fmt: skip
