"""Bounds on what the cloud can make the box hold (hardening: bounds everywhere): past
reservations are forgotten, new ones past the limit are refused and counted, and no pull page,
however malformed, gets further than a readable refusal of its own rows."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from test_reservations import Box, res

from floorlink.bridge.client import Page
from floorlink.daemon.core import reservations


def test_past_reservations_are_forgotten() -> None:
    box = Box()
    box.pull(0, res("r-old", 10, "1"), res("r-soon", 60, "2"))
    assert set(box.part.reservations) == {"r-old", "r-soon"}
    box.pull(40 * 60, res("r-late", 40 * 60 + 30, "3"))  # 40 hours later
    assert set(box.part.reservations) == {"r-late"}


def test_new_reservations_past_the_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reservations, "MAX_RESERVATIONS", 2)
    box = Box()
    out = box.pull(0, res("r-1", 60, "1"), res("r-2", 60, "2"), res("r-3", 60, "3"))
    assert out.body["over_limit"] == 1
    assert set(box.part.reservations) == {"r-1", "r-2"}
    out = box.pull(1, res("r-1", 90, "1"))  # a known one still updates
    assert (
        out.body["over_limit"] == 0 and box.part.reservations["r-1"]["time"].endswith("Z") is False
    )


rows = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
plausible = st.fixed_dictionaries(
    {"id": st.text(max_size=200), "status": st.text(max_size=12), "time": st.text(max_size=40)},
    optional={"party_size": rows, "guest": rows, "table": rows},
)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.fixed_dictionaries(
        {"reservations": st.lists(rows | plausible, max_size=6)}, optional={"cursor": rows}
    )
)
def test_any_pull_page_is_taken_row_by_row(body: dict[str, object]) -> None:
    try:
        page = Page.model_validate_json(json.dumps(body))
    except ValidationError:
        return  # the page as a whole (its cursor) is unreadable: a readable refusal, retried
    good = page.rows()
    assert len(good) <= len(page.reservations)
    for r in good:
        assert r.id and 1 <= r.party_size <= 500
