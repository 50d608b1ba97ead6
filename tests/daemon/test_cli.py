"""The CLI a person meets: the version, help on every command, the default config path,
terminals listed and removed, config errors that name the table, doctor's PIN and secret checks."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from floorlink.daemon import cli
from floorlink.daemon.config import load_config
from floorlink.daemon.doctor import check_pin, check_secrets, weak_pin

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "floorlink.example.toml"
BASE = """
[site]
id = "trattoria-luna"

[http]
staff_token = "a-long-staff-token"

[[tables]]
id = "1"
seats = 2
[[tables]]
id = "2"
seats = 4
[[tables]]
id = "12"
seats = 4
"""


def floorlink(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "floorlink.daemon.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_version_is_the_package_version() -> None:
    done = floorlink("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"floorlink {version('floorlink')}"


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    captured: dict[str, argparse.ArgumentParser] = {}
    original = sub.add_parser

    def add_parser(name: str, **kw: object) -> argparse.ArgumentParser:
        p = original(name, **kw)  # type: ignore[arg-type]
        captured[name] = p
        assert kw.get("help"), f"{name} has no help line"
        assert kw.get("description"), f"{name} has no description"
        return p

    sub.add_parser = add_parser  # type: ignore[method-assign]
    from floorlink.daemon import backup_cli, terminals, upgrade

    terminals.add_parsers(sub)
    backup_cli.add_parsers(sub, cli.config_arg)
    upgrade.add_parsers(sub)
    return captured


def test_every_command_has_help() -> None:
    done = floorlink("--help")
    listed = done.stdout
    for name in (
        "run", "check-config", "replay", "doctor", "report", "add-terminal", "list-terminals",
        "remove-terminal", "backup", "restore", "rollback",
    ):  # fmt: skip
        assert name in listed
        helped = floorlink(name, "--help")
        assert helped.returncode == 0, name
        assert "usage: floorlink " + name in helped.stdout
    assert set(subcommands()) >= {"add-terminal", "backup", "restore", "rollback"}


def test_add_terminal_help_shows_its_real_options() -> None:
    out = floorlink("add-terminal", "--help").stdout
    for option in ("name", "--passwd-file", "--host", "--port", "--no-reload"):
        assert option in out


def test_config_defaults_to_etc_floorlink(tmp_path: Path) -> None:
    out = floorlink("check-config").stdout
    assert "/etc/floorlink/floorlink.toml" in out
    assert "/etc/floorlink/floorlink.toml" in floorlink("run", "--help").stdout
    config = tmp_path / "f.toml"
    config.write_text(BASE)
    env = {"FLOORLINK_CONFIG": str(config), "PATH": "/usr/bin:/bin"}
    done = floorlink("check-config", env=env)
    assert done.returncode == 0 and "ok (3 tables" in done.stdout


def test_config_errors_name_the_table_by_id_and_say_the_rule(tmp_path: Path) -> None:
    config = tmp_path / "f.toml"
    config.write_text(
        BASE.replace('id = "12"\nseats = 4', 'id = "12"\nseats = "four"\nx = 140')
        + '[[tables]]\nid = "2"\nseats = 2\n'
    )
    done = floorlink("check-config", "--config", str(config))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert 'tables["12"].seats: expected an integer >= 1, got "four" (tables[2].seats)' in lines
    assert 'tables["12"].x: expected 0-100, got 140 (tables[2].x)' in lines
    # An id used twice cannot name a table: those keep their position.
    assert 'tables[3].id: duplicate table id "2" (also tables[1])' in lines
    run = floorlink("run", "--config", str(config))
    assert run.returncode == cli.EXIT_CONFIG
    assert 'tables["12"]' in run.stderr and len(run.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="needs mosquitto_passwd")
def test_list_and_remove_terminals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    passwd = str(tmp_path / "floorlink.passwd")
    for name in ("bar-1", "patio-2"):
        assert cli.main(["add-terminal", name, "--passwd-file", passwd, "--no-reload"]) == 0
    subprocess.run(["mosquitto_passwd", "-b", passwd, "host-stand", "pw-123456"], check=True)
    capsys.readouterr()
    assert cli.main(["list-terminals", "--passwd-file", passwd]) == 0
    assert capsys.readouterr().out.split() == ["bar-1", "patio-2"]
    assert cli.main(["remove-terminal", "bar-1", "--passwd-file", passwd, "--no-reload"]) == 0
    assert "bar-1 removed" in capsys.readouterr().out
    assert cli.main(["list-terminals", "--passwd-file", passwd]) == 0
    assert capsys.readouterr().out.split() == ["patio-2"]
    assert cli.main(["remove-terminal", "bar-1", "--passwd-file", passwd, "--no-reload"]) == 1
    assert "no terminal 'bar-1'" in capsys.readouterr().out
    assert cli.main(["remove-terminal", "host-stand", "--passwd-file", passwd]) == 1
    assert "a role" in capsys.readouterr().out
    assert "host-stand:" in Path(passwd).read_text()


def test_doctor_flags_the_default_pin_weak_pins_and_placeholder_secrets(tmp_path: Path) -> None:
    example = load_config(EXAMPLE, {})
    assert example.http.staff_pin is None  # the example ships no PIN (the setup page asks)
    old_default = tmp_path / "old-default.toml"  # the PIN earlier examples shipped
    old_default.write_text(BASE.replace("[http]\n", '[http]\nstaff_pin = "246813"\n'))
    assert check_pin(load_config(old_default, {})).verdict == "FAIL"
    secrets = check_secrets(example)
    assert secrets.verdict == "FAIL"
    assert "http.staff_token" in secrets.detail and "mqtt.url" in secrets.detail
    for pin in ("1234", "0000", "4321", "1212", "1987", "13579"):
        assert weak_pin(pin), pin
    for pin in ("4719", "270513", "80613942"):
        assert weak_pin(pin) is None, pin
    weak = tmp_path / "weak.toml"
    weak.write_text(BASE.replace("[http]\n", '[http]\nstaff_pin = "111111"\n'))
    assert check_pin(load_config(weak, {})).verdict == "WARN"
    strong = BASE.replace("[http]\n", '[http]\nstaff_pin = "480213"\n')
    weak.write_text(strong)
    config = load_config(weak, {})
    assert check_pin(config).verdict == "ok" and check_secrets(config).verdict == "ok"
