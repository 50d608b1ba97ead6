"""The stale re-page of issue 12, end to end with the real daemon over a pty transmitter: pager
42 is paged for table 11, the POS opens a check on table 11 for other guests, and the page is
withdrawn: the row says why, nothing more goes out "for table 11", and the next fitting table
pages the party."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from support import Daemon, Terminal, post, wait_for

from floorlink.daemon.broker import EmbeddedBroker
from floorlink.drivers.pagers import Page
from floorlink.drivers.pty_transmitter import PtyTransmitter

REPAGE_MINUTES = 0.02  # 1.2 s: a stale re-page would come quickly


@pytest.fixture
def pager_daemon(tmp_path: Path, broker: EmbeddedBroker) -> Any:
    extra = (
        f'[pager]\nport = "{tmp_path / "pager"}"\nrestaurant_id = 1\nsystem_id = 2\n\n'
        f"[paging]\nrepage_after_minutes = {REPAGE_MINUTES}\nmax_pages = 3\n"
    )
    d = Daemon(tmp_path / "daemon", broker, tables=12, extra=extra)
    yield d
    d.kill()


def row(daemon: Daemon, entry: str) -> dict[str, Any]:
    return next(e for e in daemon.get("/api/v1/waitlist") if e["id"] == entry)


async def test_a_check_opened_on_the_paged_table_withdraws_the_page(
    tmp_path: Path, broker: EmbeddedBroker, pager_daemon: Daemon
) -> None:
    tx = PtyTransmitter(tmp_path / "pager", restaurant_id=1, system_id=2)
    tx.plug()
    pager_daemon.start()
    try:
        async with Terminal(broker) as pos:
            await pos.ack(await pos.send("check.opened", check="1", table="11", guests=2))
            await pos.ack(await pos.send("check.opened", check="2", table="5", guests=4))
            kim = post(
                pager_daemon, "/api/v1/waitlist", {"name": "Kim", "party_size": 2, "pager": 42}
            )
            await pos.ack(await pos.send("check.closed", check="1", total="20.00"))
            assert await tx.wait_pages(1) == [Page(42, 1)]
            assert row(pager_daemon, kim["id"])["table"] == "11"
            # other guests sit at table 11 before Kim comes back
            await pos.ack(await pos.send("check.opened", check="3", table="11", guests=3))
            got = await wait_for(
                lambda: row(pager_daemon, kim["id"])["withdrawn_reason"], "the page withdrawn"
            )
            assert got == "table 11 was taken"
            shown = row(pager_daemon, kim["id"])
            assert shown["status"] == "waiting" and shown["table"] is None
            # a stale re-page would have gone out 1.2 s after the page: well past that, none
            await asyncio.sleep(REPAGE_MINUTES * 60 * 3)
            assert tx.pages == [Page(42, 1)]
            assert row(pager_daemon, kim["id"])["status"] == "waiting"
            # the next fitting table pages Kim, for that table
            await pos.ack(await pos.send("check.closed", check="2", total="40.00"))
            assert await tx.wait_pages(2) == [Page(42, 1), Page(42, 1)]
            shown = row(pager_daemon, kim["id"])
            assert shown["table"] == "5" and shown["withdrawn_reason"] is None
    finally:
        tx.close()


async def test_a_page_queued_for_a_table_taken_meanwhile_is_never_sent(
    tmp_path: Path, broker: EmbeddedBroker, pager_daemon: Daemon
) -> None:
    tx = PtyTransmitter(tmp_path / "pager", restaurant_id=1, system_id=2)
    pager_daemon.start()  # no transmitter yet: the page for table 11 waits in the outbox
    try:
        async with Terminal(broker) as pos:
            await pos.ack(await pos.send("check.opened", check="1", table="11", guests=2))
            await pos.ack(await pos.send("check.opened", check="2", table="5", guests=4))
            kim = post(
                pager_daemon, "/api/v1/waitlist", {"name": "Kim", "party_size": 2, "pager": 42}
            )
            await pos.ack(await pos.send("check.closed", check="1", total="20.00"))
            await wait_for(lambda: row(pager_daemon, kim["id"])["status"] == "paged", "paged")
            await pos.ack(await pos.send("check.opened", check="3", table="11", guests=3))
            await wait_for(lambda: row(pager_daemon, kim["id"])["withdrawn_reason"], "withdrawn")
            tx.plug()  # the queued page for table 11 no longer stands: expired, not sent
            await wait_for(
                lambda: (
                    'floorlink_pages_total{result="expired"} 1.0'
                    in pager_daemon.get_text("/metrics")
                ),
                "the stale page expired",
            )
            await pos.ack(await pos.send("check.closed", check="2", total="40.00"))
            assert await tx.wait_pages(1) == [Page(42, 1)]  # only the page for table 5
            assert row(pager_daemon, kim["id"])["table"] == "5"
    finally:
        tx.close()
