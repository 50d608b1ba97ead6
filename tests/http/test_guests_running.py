"""Guests and reports against the running daemon (App, Mosquitto, a temporary store, its HTTP API
on loopback): the profile is current right after the check closes, duplicates are merged and
unmerged through the CLI and the API, reports come as JSON, and `floorlink guest erase` works
while the daemon runs: the erased name, phone and email are then in no byte of the store, its
WAL or the daemon's logs, and replay agrees."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from app_support import send
from guests_support import NIGHT, VISITS, _res
from thread_server import ThreadServer

from floorlink.daemon.api_models import (
    GuestErased,
    GuestMerge,
    GuestProfile,
    Report,
    Reservation,
)
from floorlink.daemon.broker import EmbeddedBroker
from floorlink.daemon.cli import main
from floorlink.daemon.config import load_config
from floorlink.daemon.engine import now_ms
from floorlink.daemon.http import HttpSettings
from floorlink.daemon.logs import configure_logging
from floorlink.daemon.replay import replay_and_compare

TOKEN = "staff-token-for-guests"
ROWS = '[[tables]]\nid = "1"\nseats = 4\n[[tables]]\nid = "2"\nseats = 2\n'
ANA = ["Ana Ruiz", "Ana R.", "+1 312 555 0101", "(312) 555-0101", "+13125550101",
       "Ana@Example.com", "ana@example.com", "shellfish"]  # fmt: skip


@pytest.fixture
def server(tmp_path: Path, broker: EmbeddedBroker) -> Iterator[ThreadServer]:
    configure_logging("debug", "json")  # everything the daemon logs, to the captured stderr
    with ThreadServer(tmp_path / "app", broker, HttpSettings(staff_token=TOKEN), ROWS) as s:
        yield s


def _cli_config(s: ThreadServer) -> str:
    """The daemon's config, for the CLI: its listen address and staff token."""
    text = (s.workdir / "floorlink.toml").read_text()
    text = re.sub(r'listen = "[^"]*"', f'listen = "127.0.0.1:{s.port}"', text)
    text = re.sub(r'staff_token = "[^"]*"', f'staff_token = "{TOKEN}"', text)
    path = s.workdir / "cli.toml"
    path.write_text(text)
    return str(path)


def _api(s: ThreadServer, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    req = urllib.request.Request(
        s.url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _serve(s: ThreadServer) -> None:
    n = 0

    def put(etype: str, at: Any, data: dict[str, Any], source: str = "pos:T") -> None:
        nonlocal n
        n += 1
        out = s.run(send(s.app, etype, int(at.timestamp() * 1000), data, source))
        assert out.outcome.result == "accepted", (etype, out.outcome)

    reservations = [_res(rid, day, **guest) for rid, day, guest, _, _ in VISITS]
    put("cloud.pulled", NIGHT - timedelta(days=1), {"reservations": reservations, "cursor": "1"},
        "cloud")  # fmt: skip
    for rid, day, _, total, items in VISITS:
        at = NIGHT + timedelta(days=day)
        check = f"C-{rid}"
        put("reservation.arrive", at, {"reservation": rid, "table": "2"}, "host")
        put("check.opened", at, {"check": check, "table": "2", "guests": 2})
        if items:
            put("check.items_added", at + timedelta(minutes=5), {"check": check, "items": items})
        put("reservation.link", at + timedelta(minutes=6),
            {"reservation": rid, "check": check, "by": "host"}, "host")  # fmt: skip
        put("check.closed", at + timedelta(minutes=70), {"check": check, "total": total})
        put("host.cleared", at + timedelta(minutes=80), {"table": "2"}, "host")


def _guest(s: ThreadServer, query: str) -> Any:
    """The one guest GET /api/v1/guests finds, or None."""
    status, found = _api(s, "GET", f"/api/v1/guests?{query}")
    assert status == 200 and len(found) <= 1
    return found[0] if found else None


def _files(workdir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(workdir.glob("floorlink.db*")))


def test_guests_merges_reports_and_erase_while_running(
    tmp_path: Path, broker: EmbeddedBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("debug", "json")
    with ThreadServer(tmp_path / "app", broker, HttpSettings(staff_token=TOKEN), ROWS) as s:
        _while_running(s, lambda: _read(capsys))
    config = load_config(s.workdir / "floorlink.toml")
    report = replay_and_compare(config)
    assert report["equal"], report["summary"]
    raw = _files(s.workdir)
    _read(capsys)
    logs = "".join(SEEN)
    assert '"guest erased"' in logs
    for value in ANA:
        assert value.encode() not in raw, value
        assert value not in logs, value
    assert b"Bo Chen" in raw  # the other guest is untouched


SEEN: list[str] = []


def _read(capsys: pytest.CaptureFixture[str]) -> str:
    """What the CLI printed since the last call; everything printed and logged is kept."""
    got = capsys.readouterr()
    SEEN.append(got.out + got.err)
    return got.out


def _while_running(s: ThreadServer, out: Callable[[], str]) -> None:
    toml = _cli_config(s)
    _serve(s)
    # the lookup on seating, right after the last check closed: no rebuild anywhere
    ana = _guest(s, "phone=312.555.0101")
    GuestProfile.model_validate(ana)
    assert ana["summary"]["visits"] == 4 and ana["summary"]["average_check"] == "85.19"
    assert _guest(s, "phone=%2B1%20312%20555%200199") is None
    assert _api(s, "GET", "/api/v1/guests") == (200, [])
    # a report as JSON, for the page's charts
    # Ana books again for tonight: the stand's reservation list carries her visit summary
    soon = datetime.fromtimestamp(now_ms() / 1000 + 1800, UTC).isoformat()
    again = {"id": "r9", "status": "confirmed", "time": soon, "party_size": 2,
             "source": "phone", "guest": {"name": "Ana", "phone": "312 555 0101"}}  # fmt: skip
    done = s.run(send(s.app, "cloud.pulled", now_ms(), {"reservations": [again], "cursor": "9"},
                      "cloud"))  # fmt: skip
    assert done.outcome.result == "accepted"
    listed = _api(s, "GET", "/api/v1/reservations")[1]
    (r9,) = [r for r in listed if r["id"] == "r9"]
    Reservation.model_validate(r9)
    assert r9["guest"]["profile"] == ana["id"]
    assert (r9["guest"]["visits"], r9["guest"]["average_check"]) == (4, "85.19")
    ana = _guest(s, "phone=312.555.0101")  # now with r9, the newest name
    assert ana["reservations"][-1] == "r9" and ana["name"] == "Ana"
    status, rep = _api(s, "GET", "/api/v1/reports/summary?since=2026-11-02&until=2026-11-16")
    assert status == 200 and Report.model_validate(rep).report == "summary"
    assert dict((r[0], r[1]) for r in rep["rows"])["checks"] == 5
    assert _api(s, "GET", "/api/v1/reports/nope")[0] == 404
    assert _api(s, "GET", "/api/v1/reports/summary?since=2026-11-16&until=2026-11-02")[0] == 422
    # Bo is a duplicate of Ana, the manager decides: merge him in through the CLI, then undo it
    # through the API
    ids = {p["id"] for p in _profiles(s)}
    assert len(ids) == 2
    bo_id = next(i for i in ids if i != ana["id"])
    assert main(["guest", "merge", ana["id"], bo_id, "--config", toml]) == 0
    assert "m1: reservations r1 + r4" in out()
    merged = _guest(s, "email=ana@example.com")
    assert merged["summary"]["visits"] == 5 and merged["merges"] == ["m1"]
    status, undone = _api(s, "POST", "/api/v1/guests/merges/m1/undo")
    assert status == 200 and GuestMerge.model_validate(undone).undone is not None
    assert _api(s, "POST", "/api/v1/guests/merges/m1/undo")[0] == 409
    assert _guest(s, "email=ana@example.com") == ana
    assert main(["guest", "merges", "--config", toml]) == 0
    listed = out()
    assert "m1: reservations r1 + r4" in listed and "undone" in listed
    # erase while the daemon runs: through its API, its state folded again after
    assert main(["guest", "erase", "--config", toml, "--phone", "312.555.0101"]) == 0
    assert "erased by the running daemon" in out()
    assert _guest(s, "phone=312.555.0101") is None
    status, body = _api(s, "POST", "/api/v1/guests/erase", {"phone": "312.555.0101"})
    assert status == 404 and "No guest" in body["error"]
    # the daemon goes on: its state is the rewritten log's
    at = NIGHT + timedelta(days=30)
    done = s.run(send(s.app, "check.opened", int(at.timestamp() * 1000),
                     {"check": "C-after", "table": "1", "guests": 2}, "pos:T"))  # fmt: skip
    assert done.outcome.result == "accepted"


def _profiles(s: ThreadServer) -> list[dict[str, Any]]:
    db = s.app.engine.store.db
    return [json.loads(d) for (d,) in s.run(s.app.engine.call(
        lambda: db.execute("SELECT data FROM profiles").fetchall()))]  # fmt: skip


def test_erase_answers_are_documented(server: ThreadServer) -> None:
    _serve(server)
    status, body = _api(server, "POST", "/api/v1/guests/erase", {"email": "ANA@example.com"})
    assert status == 200 and GuestErased.model_validate(body).events > 0
    assert _api(server, "POST", "/api/v1/guests/erase", {})[0] == 404
    status, body = _api(server, "POST", "/api/v1/guests/purge")  # no retention set: nobody
    assert status == 200 and body["guests"] == 0


def test_retention_purge_while_running(tmp_path: Path, broker: EmbeddedBroker) -> None:
    """Bo was last seen 13 days before Ana: a retention between the two erases him only."""
    ana_age = (datetime.now(UTC) - (NIGHT + timedelta(days=14))).days
    extra = f"[privacy]\nretention_days = {ana_age + 3}\n"
    settings = HttpSettings(staff_token=TOKEN)
    with ThreadServer(tmp_path / "app", broker, settings, ROWS, extra) as s:
        _serve(s)
        assert main(["guest", "purge", "--config", _cli_config(s)]) == 0
        assert _guest(s, "phone=312.555.0101") is not None
        status, body = _api(s, "POST", "/api/v1/guests/purge")
        assert status == 200 and body["guests"] == 0  # Bo is gone already, Ana stays
    assert replay_and_compare(load_config(s.workdir / "floorlink.toml"))["equal"]
    raw = _files(s.workdir)
    assert b"Bo Chen" not in raw and b"Ana Ruiz" in raw
