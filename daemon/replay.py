"""`floorlink replay`: fold the whole log from nothing and prove it equals the stored state."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from floorlink.daemon.app import build_state
from floorlink.daemon.store import Store, dumps

if TYPE_CHECKING:
    from floorlink.daemon.config import Config


def replay_and_compare(config: Config) -> dict[str, Any]:
    """Three states must agree byte for byte: the fold of the whole log, the last snapshot plus
    the log's tail (what the daemon starts from), and the table objects stored with each commit."""
    store = Store(config.store.path)
    store.open()
    try:
        full = build_state(config)
        full.replay(store.events())
        resumed = build_state(config)
        snap = store.latest_snapshot()
        if snap is not None:
            resumed.load_json(json.loads(snap[1]))
        resumed.replay(store.events(after=resumed.seq))
        stored = store.stored_tables()
        folded = {tid: dumps(full.table_object(tid)) for tid in full.floor.specs}
        table_diffs = sorted(t for t in folded if stored.get(t) != folded[t])
        state_equal = full.dumps() == resumed.dumps()
        equal = state_equal and not table_diffs
        summary = (
            f"replayed {full.seq} events: state equals the stored state"
            if equal
            else f"replayed {full.seq} events: MISMATCH"
            + (" (snapshot + tail differs from the full fold)" if not state_equal else "")
            + (f" (tables differ: {', '.join(table_diffs)})" if table_diffs else "")
        )
        return {
            "equal": equal,
            "events": full.seq,
            "snapshot_seq": snap[0] if snap else None,
            "state_equal": state_equal,
            "tables_differing": table_diffs,
            "summary": summary,
        }
    finally:
        store.close()
