"""Issue 12's smarter page end to end: the real daemon (a child process), real Mosquitto and a
simulated LRS radio board on a pty. `trigger = "after_close"` pages N minutes after the check
closed, by the daemon's own timer, and not before; a heads-up page goes to the party who is next
when a fitting table is predicted free, once, and the real page follows when the table frees."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from support import Daemon, Terminal, post, wait_for

from floorlink.daemon.broker import EmbeddedBroker
from floorlink.drivers.pagers import Page
from floorlink.drivers.pty_transmitter import PtyTransmitter

AFTER_CLOSE_MINUTES = 0.02  # 1.2 s


def pager_toml(tmp_path: Path, paging: str) -> str:
    return (
        f'[pager]\nport = "{tmp_path / "pager"}"\nrestaurant_id = 1\nsystem_id = 2\n\n'
        f"[paging]\n{paging}"
    )


def events(daemon: Daemon, *types: str) -> list[tuple[str, int, dict[str, Any]]]:
    """The daemon's event log as stored (read-only, beside the running daemon)."""
    db = sqlite3.connect(f"file:{daemon.workdir / 'floorlink.db'}?mode=ro", uri=True)
    try:
        marks = ",".join("?" * len(types))
        rows = db.execute(
            f"SELECT type, at, data FROM events WHERE type IN ({marks}) ORDER BY seq", types
        ).fetchall()
    finally:
        db.close()
    return [(t, at, json.loads(data)) for t, at, data in rows]


def row(daemon: Daemon, entry: str) -> dict[str, Any]:
    return next(e for e in daemon.get("/api/v1/waitlist") if e["id"] == entry)


@pytest.fixture
async def tx(tmp_path: Path) -> Any:
    t = PtyTransmitter(tmp_path / "pager", restaurant_id=1, system_id=2)
    t.plug()
    yield t
    t.close()


async def test_after_close_pages_minutes_after_the_check_closed(
    tmp_path: Path, broker: EmbeddedBroker, tx: PtyTransmitter
) -> None:
    paging = f'trigger = "after_close"\npage_after_close_minutes = {AFTER_CLOSE_MINUTES}\n'
    d = Daemon(tmp_path / "daemon", broker, extra=pager_toml(tmp_path, paging))
    d.start()
    try:
        async with Terminal(broker) as pos:
            await pos.ack(await pos.send("check.opened", check="1", table="2", guests=2))
            kim = post(d, "/api/v1/waitlist", {"name": "Kim", "party_size": 2, "pager": 7})
            await pos.ack(await pos.send("check.closed", check="1", total="20.00"))
            assert await tx.wait_pages(1) == [Page(7, 1)]
            shown = await wait_for(
                lambda: (r := row(d, kim["id"]))["status"] == "paged" and r, "Kim paged"
            )
            assert shown["table"] == "2" and shown["pages"] == 1
        ((_, armed_at, armed),) = events(d, "waitlist.armed")
        ((_, paged_at, paged),) = events(d, "waitlist.paged")
        # armed by the close, due N minutes after it; paged by the timer at that time, not before
        assert armed["table"] == "2"
        assert armed["due_at"] == armed_at + int(AFTER_CLOSE_MINUTES * 60_000)
        assert paged_at >= armed["due_at"] and paged["table"] == "2"
        assert tx.pages == [Page(7, 1)]  # one page per freeing
    finally:
        d.kill()


async def test_a_heads_up_goes_to_the_next_party_then_the_real_page(
    tmp_path: Path, broker: EmbeddedBroker, tx: PtyTransmitter
) -> None:
    """A printed check on table 2 is predicted free within the hour (the quote model's time
    from print to payment), so Kim, next for it, gets one heads-up; the close pages her."""
    d = Daemon(tmp_path / "daemon", broker, extra=pager_toml(tmp_path, "heads_up_minutes = 60\n"))
    d.start()
    try:
        async with Terminal(broker) as pos:
            await pos.ack(await pos.send("check.opened", check="1", table="2", guests=2))
            await pos.ack(await pos.send("check.printed", check="1"))
            kim = post(d, "/api/v1/waitlist", {"name": "Kim", "party_size": 2, "pager": 7})
            ito = post(d, "/api/v1/waitlist", {"name": "Ito", "party_size": 2, "pager": 8})
            assert await tx.wait_pages(1) == [Page(7, 1)]  # the heads-up, on Kim's pager
            shown = await wait_for(lambda: (r := row(d, kim["id"]))["heads_up_at"] and r, "shown")
            assert shown["status"] == "waiting" and shown["pages"] == 0
            assert row(d, ito["id"])["heads_up_at"] is None  # only the party who is next
            ((_, _, heads_up),) = events(d, "waitlist.heads_up")
            assert heads_up == {"entry": kim["id"], "table": "2", "pager": 7}
            await pos.ack(await pos.send("check.closed", check="1", total="20.00"))
            assert await tx.wait_pages(2) == [Page(7, 1), Page(7, 1)]
            shown = await wait_for(
                lambda: (r := row(d, kim["id"]))["status"] == "paged" and r, "Kim paged"
            )
            assert shown["table"] == "2" and shown["pages"] == 1  # the heads-up is not counted
        assert len(events(d, "waitlist.heads_up")) == 1  # at most once per party
        assert tx.pages == [Page(7, 1), Page(7, 1)]
    finally:
        d.kill()
