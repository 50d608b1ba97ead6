"""A party's live estimate moves with the floor: a course fired on the table it waits for
changes it on `floorlink/v1/waitlist` and in the API, while its quote stays as it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from support import Daemon, Terminal, post

from floorlink.daemon.broker import EmbeddedBroker


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="milliseconds")


async def test_a_course_fired_on_the_awaited_table_moves_the_live_estimate(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    daemon = Daemon(tmp_path / "daemon", broker, tables=1)  # one table of four
    daemon.start()
    try:
        async with Terminal(broker) as pos:
            await pos.client.subscribe("floorlink/v1/waitlist", qos=1)
            # seated an hour ago, no course yet: a four-top's turn is nearly done
            opened = await pos.send("check.opened", check="A", table="1", guests=4, at=ago(60))
            await pos.ack(opened)
            kim = post(daemon, "/api/v1/waitlist", {"name": "Kim", "party_size": 2, "pager": 7})
            quote = kim["quoted_minutes"]
            await pos.wait(lambda: [e["name"] for e in pos.waitlist] == ["Kim"])
            first = pos.waitlist[0]
            assert first["quoted_minutes"] == quote
            assert abs(first["estimate_minutes"] - quote) <= 1 and not first["running_late"]
            # the first course only now: the table is at the start of its meal, not the end
            await pos.ack(await pos.send("check.course_fired", check="A", course="apps"))
            await pos.wait(
                lambda: bool(pos.waitlist) and pos.waitlist[0]["estimate_minutes"] > quote + 10
            )
            moved = pos.waitlist[0]
            assert moved["quoted_minutes"] == quote  # the promise is kept for accuracy
            assert moved["running_late"] is True  # the host can tell Kim before Kim asks
            api = daemon.get("/api/v1/waitlist")
            assert api[0]["estimate_minutes"] > quote + 10 and api[0]["quoted_minutes"] == quote
            # the check prints: the table pays soon, and the estimate comes back down
            await pos.ack(await pos.send("check.printed", check="A"))
            await pos.wait(
                lambda: (
                    bool(pos.waitlist)
                    and pos.waitlist[0]["estimate_minutes"] < moved["estimate_minutes"] - 20
                )
            )
            assert pos.waitlist[0]["running_late"] is False
    finally:
        daemon.stop()
