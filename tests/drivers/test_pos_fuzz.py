"""Hypothesis over POS payloads (hardening issue): whatever bytes a terminal publishes, parsing
raises nothing but a readable rejection, and what comes out (an input or a dead letter) is
stored by the real engine without a store error, answered, and leaves replay exact.
`FLOORLINK_FUZZ_EXAMPLES` sets how many (200 in `make test`, many more in `make fuzz`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from helpers import new_state
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floorlink.daemon.core.state import Input
from floorlink.daemon.engine import Engine, RejectInput
from floorlink.daemon.store import Store
from floorlink.drivers.pos import PosRejected, parse_pos_event

EXAMPLES = int(os.environ.get("FLOORLINK_FUZZ_EXAMPLES", "200"))
TYPES = ["check.opened", "check.closed", "check.course_fired", "table.cleared", "nope", ""]

#: Text with the hard cases: lone surrogates, NUL, very long strings, non-Latin scripts.
texts = st.one_of(
    st.text(max_size=20),
    st.text(
        alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3
    ),
    st.just("\x00"),
    st.text(min_size=60, max_size=300),
    st.sampled_from(["1", "12", "T1", "c-1"]),
)
timestamps = st.one_of(
    st.sampled_from(
        [
            "2026-11-25T19:31:05-08:00",
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00Z",
            "2026-11-25T19:31:05",
            "yesterday",
        ]
    ),
    texts,
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), texts)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
events = st.fixed_dictionaries(
    {"id": texts, "type": st.sampled_from(TYPES), "at": timestamps},
    optional={
        "check": texts,
        "table": texts,
        "guests": scalars,
        "course": texts,
        "total": st.one_of(texts, st.just("12.50")),
        "items": values,
    },
)


def deep(n: int) -> bytes:
    return b'{"id": "d", "x": ' + b"[" * n + b"]" * n + b"}"


payloads = st.one_of(
    events.map(lambda e: json.dumps(e).encode()),  # JSON escapes lone surrogates as \\udXXX
    st.binary(max_size=200),
    st.integers(min_value=100, max_value=5000).map(deep),
    st.text(max_size=50).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(payloads, min_size=1, max_size=8))
def test_any_payload_is_answered_and_stored_without_a_store_error(
    tmp_path_factory: object, batch: list[bytes]
) -> None:
    assert hasattr(tmp_path_factory, "mktemp")
    path = Path(tmp_path_factory.mktemp("fuzz")) / "floorlink.db"
    engine = Engine(Store(path), new_state, snapshot_every=3)
    engine._open()
    inputs: list[Input | RejectInput] = []
    for payload in batch:
        try:
            inputs.append(parse_pos_event("T1", payload))
        except PosRejected as exc:
            inputs.append(
                RejectInput("pos:T1", exc.eid, "invalid", exc.error, exc.reply_id, payload)
            )
    results, _ = engine._commit_batch(inputs)
    assert len(results) == len(inputs)
    for res in results:
        assert res.outcome.result in ("accepted", "duplicate", "rejected")
        if res.outcome.result == "rejected":
            assert res.outcome.error
        json.dumps({"error": res.outcome.error})  # the ack can always be written
    live = engine.state.dumps()
    engine.store.close()
    replay = new_state()
    store = Store(path)
    store.open()
    replay.replay(store.events())
    store.close()
    assert replay.dumps() == live
