"""`Store.known` answers a whole batch's idempotency keys in one query per 200 keys, by index."""

from __future__ import annotations

from pathlib import Path

from floorlink.daemon.core.state import Event
from floorlink.daemon.store import Store, Written


def test_known_finds_stored_and_rejected_keys_across_chunks(tmp_path: Path) -> None:
    store = Store(tmp_path / "f.db")
    store.open()
    store.begin()
    events = [Event("pos:T1", f"e{n}", "check.updated", 0, {}, seq=n + 1) for n in range(450)]
    store.write(Written(events, [], {}), 0)
    store.write_rejected("pos:T2", "bad", "check.opened", "unknown table '9'", 0)
    store.write_rejected("pos:T1", "e7", "check.opened", "an older refusal", 0)
    store.commit()
    keys = [("pos:T1", f"e{n}") for n in range(0, 500, 3)] + [("pos:T2", "bad"), ("pos:T2", "x")]
    keys.append(("pos:T1", "e7"))  # stored and also once refused: stored wins
    found = store.known(keys + keys[:5])  # repeated keys are fine
    assert found[("pos:T2", "bad")] == "unknown table '9'"
    assert found[("pos:T1", "e6")] is None
    assert ("pos:T1", "e453") not in found and ("pos:T2", "x") not in found
    assert {k for k, v in found.items() if v is None} == {
        ("pos:T1", f"e{n}") for n in range(0, 450, 3)
    } | {("pos:T1", "e7")}
    plan = " ".join(
        str(row)
        for row in store.db.execute(
            "EXPLAIN QUERY PLAN WITH k(source, eid) AS (VALUES (?,?))"
            " SELECT e.source FROM k CROSS JOIN events e ON e.source = k.source AND e.eid = k.eid",
            ("a", "b"),
        )
    )
    assert "SEARCH e USING COVERING INDEX" in plan  # a lookup per key, never a scan of the log
    store.close()
