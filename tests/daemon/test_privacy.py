"""Erasing a guest: the personal data is gone from the store file, its WAL and the output, the
anonymous totals stay, and replay agrees with the state afterwards. Retention purges the
guests not seen for N days."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from guests_support import NIGHT
from test_profiles import _config, _serve

from floorlink.daemon import privacy, profiles
from floorlink.daemon.app import build_state
from floorlink.daemon.cli import main
from floorlink.daemon.core.reservations import ReservationsPart, guest_payload
from floorlink.daemon.replay import replay_and_compare
from floorlink.daemon.report import load_period
from floorlink.daemon.store import Store

ANA = ["Ana Ruiz", "Ana R.", "+1 312 555 0101", "(312) 555-0101", "+13125550101",
       "Ana@Example.com", "ana@example.com", "shellfish"]  # fmt: skip


def _files(tmp_path: Path) -> bytes:
    """Every byte the store keeps on disk: the file, its WAL and shared memory."""
    return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("f.db*")))


def _state(config_path: str) -> ReservationsPart:
    from floorlink.daemon.config import load_config

    config = load_config(Path(config_path))
    store = Store(config.store.path)
    store.open()
    try:
        state = build_state(config)
        state.replay(store.events())
    finally:
        store.close()
    part = state.part("reservations")
    assert isinstance(part, ReservationsPart)
    return part


async def test_erase_then_replay_and_grep_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    await _serve(config)
    toml = str(tmp_path / "f.toml")
    assert main(["replay", "--config", toml]) == 0
    raw = _files(tmp_path)
    assert all(v.encode() in raw for v in ("Ana Ruiz", "+1 312 555 0101", "Ana@Example.com"))
    before = load_period(config, NIGHT.date(), NIGHT.date() + timedelta(days=15))
    # the export first (a subject access request), then the erase
    assert main(["guest", "export", "--config", toml, "--phone", "312.555.0101"]) == 0
    assert "Ana Ruiz" in capsys.readouterr().out
    assert main(["guest", "erase", "--config", toml, "--phone", "312.555.0101"]) == 0
    capsys.readouterr()
    report = replay_and_compare(config)
    assert report["equal"], report["summary"]
    raw = _files(tmp_path)
    for value in ANA:
        assert value.encode() not in raw, value
        assert value.encode().lower() not in raw.lower() or len(value) < 4, value
    assert b"Bo Chen" in raw  # the other guest is untouched
    # the anonymous totals stay: the same checks and money, the same visit summary
    after = load_period(config, NIGHT.date(), NIGHT.date() + timedelta(days=15))
    assert [(c.number, c.total, c.covers) for c in after.checks] == [
        (c.number, c.total, c.covers) for c in before.checks
    ]
    part = _state(toml)
    payload = guest_payload(part, "2", "r3")
    assert payload is not None and payload["name"].startswith("erased-")
    assert (payload["visits"], payload["average_check"], payload["allergies"]) == (4, "85.19", None)
    # nothing finds her any more; the export has nothing to give
    assert main(["guest", "show", "--config", toml, "--phone", "(312) 555-0101"]) == 1
    assert main(["guest", "export", "--config", toml, "--email", "ana@example.com"]) == 1
    out = capsys.readouterr()
    for value in ANA:
        assert value not in out.out + out.err, value


async def test_retention_purges_guests_not_seen_for_n_days(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    await _serve(config)
    toml = str(tmp_path / "f.toml")
    assert main(["guest", "purge", "--config", toml]) == 0
    assert "not set" in capsys.readouterr().out
    built = profiles.rebuild(config)
    store = Store(config.store.path)
    store.open_readonly()
    try:
        reservations, _ = profiles.from_log(store)
    finally:
        store.close(clean=False)
    # 40 days after the first night with a 30-day retention: Bo (last seen on day 1) goes,
    # Ana (seen on day 14) stays
    now = int((NIGHT + timedelta(days=40)).timestamp() * 1000)
    old = privacy.stale(built, reservations, 30, now)
    assert [p.reservations for p in old] == [["r4"]]
    privacy.erase(config, old, now)
    assert replay_and_compare(config)["equal"]
    raw = _files(tmp_path)
    assert b"Bo Chen" not in raw and b"Ana Ruiz" in raw
    # erased guests are not purged again
    store.open_readonly()
    try:
        reservations, _ = profiles.from_log(store)
    finally:
        store.close(clean=False)
    assert privacy.stale(profiles.rebuild(config), reservations, 30, now) == []
