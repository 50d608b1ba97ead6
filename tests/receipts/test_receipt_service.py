"""A whole simulated service printed through the proxy ends in the same floor as the same service
sent over MQTT: the receipt source is one more way into the same engine, not a second floor."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from receipt_support import Check, FakePrinter, print_job, receipt_input, render, sha, until
from support import Terminal, write_config

from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.config import load_config
from floorlink.daemon.receipt_tcp import ReceiptTcpSource

DISHES = {
    "apps": [("Burrata", "14.00"), ("Calamari", "16.50")],
    "entrees": [("Ribeye", "42.00"), ("Risotto", "28.00"), ("Branzino", "36.00")],
    "dessert": [("Tiramisu", "11.00")],
}


def service(seed: int = 5) -> list[tuple[str, str | None, Check]]:
    """Printed documents of a dinner, interleaved across checks as a kitchen sees them."""
    rng = random.Random(seed)
    plans: list[list[tuple[str, str | None, Check]]] = []
    for n, table in enumerate(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]):
        check = Check(str(2000 + n), table, guests=rng.randint(1, 6), server=f"emp-{10 + n % 3}")
        for course, dishes in DISHES.items():
            check.items[course] = [(name, price, rng.randint(1, 3)) for name, price in dishes]
        steps: list[tuple[str, str | None, Check]] = [("kitchen", "apps", check)]
        steps.append(("kitchen", "entrees", check))
        ending = n % 5
        if ending == 0:
            steps = [*steps[:1], ("void", None, check)]
        elif ending == 1:
            steps += [("kitchen", "dessert", check), ("check", None, check)]  # left at the check
        elif ending == 2:
            pass  # still eating
        else:
            steps += [("check", None, check), ("receipt", None, check)]
        plans.append(steps)
    out: list[tuple[str, str | None, Check]] = []
    while any(plans):
        plan = rng.choice([p for p in plans if p])
        out.append(plan.pop(0))
    return out


def mqtt_events(docs: list[tuple[str, str | None, Check]]) -> list[tuple[str, dict[str, Any]]]:
    """What a POS that speaks the contract would have published for the same service."""
    seen: set[str] = set()
    out: list[tuple[str, dict[str, Any]]] = []
    for kind, course, check in docs:
        c = check.number
        if c not in seen:
            seen.add(c)
            out.append(
                (
                    "check.opened",
                    {
                        "check": c,
                        "table": check.table,
                        "guests": check.guests,
                        "server": check.server,
                    },
                )
            )
        if kind == "kitchen" and course is not None:
            items = [{"name": n, "qty": q, "price": p} for n, p, q in check.items[course]]
            out.append(("check.items_added", {"check": c, "items": items}))
            out.append(("check.course_fired", {"check": c, "course": course}))
        elif kind == "check":
            out.append(("check.printed", {"check": c}))
        elif kind == "receipt":
            out.append(("check.closed", {"check": c, "total": check.total(), "tip": "8.00"}))
        elif kind == "void":
            out.append(("check.voided", {"check": c}))
    return out


def floor(app: App) -> dict[str, tuple[Any, ...]]:
    return {
        tid: (
            t["status"],
            t.get("check"),
            t.get("course"),
            t.get("server"),
            (t.get("party") or {}).get("size"),
        )
        for tid, t in app.engine.tables.items()
    }


async def test_a_printed_service_is_the_same_floor_as_over_mqtt(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    docs = service()
    printer = FakePrinter()
    await printer.start()
    (tmp_path / "receipts").mkdir()
    path = write_config(
        tmp_path / "receipts" / "floorlink.toml",
        broker.port,
        free_port(),
        tables=12,
        extra=receipt_input(printer.port),
    )
    app = App(load_config(path))
    await app.start()
    try:
        source = app.sources[0]
        assert isinstance(source, ReceiptTcpSource) and source.port is not None
        sent = []
        for kind, course, check in docs:
            job = render("bistro", kind, check, course)
            sent.append(job)
            await print_job(source.port, job)
        await until(
            lambda: (
                source.pipeline.documents == len(docs)
                and all(e["result"] != "pending" for d in source.recent(50) for e in d["events"])
            )
        )
        assert {e["result"] for d in source.recent(50) for e in d["events"]} == {"accepted"}
        assert [sha(bytes(j)) for j in printer.jobs] == [sha(j) for j in sent]
        printed = floor(app)
    finally:
        await app.stop()
        await printer.stop()

    (tmp_path / "mqtt").mkdir()
    path = write_config(tmp_path / "mqtt" / "floorlink.toml", broker.port, free_port(), tables=12)
    app = App(load_config(path))
    await app.start()
    try:
        async with Terminal(broker) as pos:
            await pos.wait(lambda: pos.status == b"online")
            ids = [await pos.send(etype, **data) for etype, data in mqtt_events(docs)]
            for eid in ids:
                assert (await pos.ack(eid))["result"] == "accepted"
        assert floor(app) == printed
    finally:
        await app.stop()
    statuses = {s for s, *_ in printed.values()}
    assert {"seated", "check_dropped", "bussing", "available"} <= statuses
