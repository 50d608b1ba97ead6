"""The config: the example loads; every kind of mistake gets one clear line with its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from floorlink.daemon.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
ENV = {"FLOORLINK_STAFF_TOKEN": "a-long-staff-token"}

BASE = """
[site]
id = "trattoria-luna"
timezone = "America/Los_Angeles"

[http]
staff_token = "a-long-staff-token"

[[tables]]
id = "1"
seats = 2
[[tables]]
id = "2"
seats = 4
[[tables]]
id = "3"
seats = 4
"""


def errors(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, env or {})
    return info.value.errors


def test_the_example_config_is_valid() -> None:
    config = load_config(ROOT / "config" / "floorlink.example.toml", ENV)
    assert len(config.tables) == 25
    assert config.site.id == "trattoria-luna"
    assert config.pager is not None and config.pager.protocol == "lrs"
    assert {t.section for t in config.tables} == {"main", "patio", "bar"}


def test_the_contract_example_error_line() -> None:
    text = BASE + '[[tables]]\nid = "4"\nseats = "four"\n'
    assert errors(text) == ['tables[3].seats: expected an integer >= 1, got "four"']


def test_unknown_keys_missing_keys_and_duplicates_are_all_reported() -> None:
    text = BASE.replace("[http]", "[mqtt]\nhostt = 1\n[http]") + '[[tables]]\nid = "2"\nseats = 2\n'
    text = text.replace('id = "trattoria-luna"', 'id = "Trattoria Luna"')
    found = errors(text)
    assert "mqtt.hostt: unknown key" in found
    assert any(line.startswith("site.id: expected text matching") for line in found)
    assert 'tables[3].id: duplicate table id "2" (also tables[1])' in found


def test_missing_table_key_and_no_tables() -> None:
    assert "tables[0].seats: missing (required)" in errors(BASE.replace("seats = 2\n", "", 1))
    assert errors('[site]\nid = "a"\n[http]\nstaff_token = "a-long-token"\n') == [
        "tables: missing (required)"
    ]


def test_toml_syntax_errors_name_their_line() -> None:
    (line,) = errors('[site]\nid = "a"\nseats = = 4\n')
    assert line.startswith("line 3: ")


def test_staff_token_from_the_environment_or_credentials(tmp_path: Path) -> None:
    text = BASE.replace('staff_token = "a-long-staff-token"\n', "")
    assert errors(text)[0].startswith("http.staff_token: expected a token of at least 8")
    config = parse_config(text, {"FLOORLINK_STAFF_TOKEN": "from-the-env-123"})
    assert config.http.staff_token is not None
    assert config.http.staff_token.get_secret_value() == "from-the-env-123"
    (tmp_path / "staff_token").write_text("from-credentials\n")
    config = parse_config(text, {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert config.http.staff_token is not None
    assert config.http.staff_token.get_secret_value() == "from-credentials"


def test_mqtt_url_parts_and_secrets_stay_out_of_repr() -> None:
    config = parse_config(BASE + '[mqtt]\nurl = "mqtt://floorlink:s3cret@10.0.0.5:1884"\n', {})
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.username) == (
        "10.0.0.5",
        1884,
        "floorlink",
    )
    assert config.mqtt.password == "s3cret"
    assert "s3cret" not in repr(config) and "a-long-staff-token" not in repr(config)


def test_cloud_needs_https_and_a_token() -> None:
    found = errors(BASE + '[cloud]\nurl = "http://reservations.example.com"\n')
    assert found == ['cloud.url: expected an https:// url, got "http://reservations.example.com"']
    found = errors(BASE + '[cloud]\nurl = "https://reservations.example.com"\n')
    assert found[0].startswith("cloud.token: expected")


def test_check_config_command(tmp_path: Path) -> None:
    from floorlink.daemon.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text(BASE + '[[tables]]\nid = "4"\nseats = 0\n')
    assert main(["check-config", "--config", str(bad)]) == 1
    good = tmp_path / "good.toml"
    good.write_text(BASE)
    assert main(["check-config", "--config", str(good)]) == 0
    assert main(["run", "--config", str(bad)]) == 2


def test_pager_protocol_keys_are_checked_by_the_protocols_own_options() -> None:
    lrs = parse_config(BASE + '[pager]\nport = "/dev/ttyUSB0"\nrestaurant_id = 1\nsystem_id = 2\n')
    assert lrs.pager is not None and lrs.pager.options().model_dump() == {
        "restaurant_id": 1,
        "system_id": 2,
    }
    assert lrs.pager.ttl_seconds == 180 and lrs.pager.baud is None
    found = errors(BASE + '[pager]\nport = "p"\nrestaurant_id = 300\nsystem_id = 16\n')
    assert found == [
        "pager.restaurant_id: expected an integer <= 255, got 300",
        "pager.system_id: expected an integer <= 15, got 16",
    ]
    found = errors(BASE + '[pager]\nport = "p"\nprotocol = "jtech"\ncapcode_prefix = "7"\n')
    assert len(found) == 1 and found[0].startswith("pager.capcode_prefix: expected text matching")
    assert errors(BASE + '[pager]\nport = "p"\ncapcode = 1\n') == ["pager.capcode: unknown key"]
    assert errors(BASE + '[pager]\nport = "p"\nprotocol = "pocsag"\n') == [
        "pager.protocol: expected one of jtech, lrs, lrs-t74, rps-http, sms, tap, waveware, "
        'got "pocsag"'
    ]
    assert errors(BASE + '[pager]\nport = "p"\nttl_seconds = 0\n') == [
        "pager.ttl_seconds: expected an integer > 0 and <= 3600, got 0"
    ]


@pytest.mark.parametrize("pin", ["2468", "12345", "12a456", "1234567890123", ""])
def test_a_staff_pin_is_6_to_12_digits(pin: str) -> None:
    """A 4-digit PIN falls to guessing in hours (issue 16): it is refused with its key path."""
    text = BASE.replace("[http]", f'[http]\nstaff_pin = "{pin}"')
    found = errors(text)
    assert len(found) == 1 and found[0].startswith("http.staff_pin: expected 6 to 12 digits")


def test_a_6_digit_pin_and_the_http_timeouts() -> None:
    text = BASE.replace("[http]", '[http]\nstaff_pin = "246813"\nidle_timeout_seconds = 30')
    config = parse_config(text, {})
    assert config.http.staff_pin is not None
    assert config.http.staff_pin.get_secret_value() == "246813"
    assert "246813" not in repr(config)
    assert (config.http.idle_timeout_seconds, config.http.body_timeout_seconds) == (30, 10)
    example = load_config(ROOT / "config" / "floorlink.example.toml", ENV)
    # no default PIN exists anywhere (issue 11): the example ships none, setup asks for one
    assert example.http.staff_pin is None
