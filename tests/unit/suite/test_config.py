"""firebase.json is read as the official CLI reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from firebase_sync_emulator.config import DEFAULT_PORTS, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[3]


def test_repository_firebase_json_declares_the_documented_ports() -> None:
    config = load_config(ROOT / "firebase.json")
    assert config.ports == {"database": 9000, "firestore": 8080, "hub": 4400}
    assert config.enabled == ("database", "firestore")
    assert config.database_rules == ROOT / "database.rules.json"
    assert config.database_rules.is_file()


def test_ports_hosts_and_rules_are_read(tmp_path: Path) -> None:
    path = tmp_path / "firebase.json"
    path.write_text(
        json.dumps(
            {
                "database": [{"instance": "x", "rules": "db.rules.json"}],
                "emulators": {"database": {"port": 9100, "host": "0.0.0.0"}},
            }
        )
    )
    config = load_config(path)
    assert config.ports["database"] == 9100
    assert config.ports["firestore"] == DEFAULT_PORTS["firestore"]
    assert config.host_for("database") == "0.0.0.0"
    assert config.host_for("firestore") == "127.0.0.1"
    assert config.host_for("database", "::1") == "::1"
    assert config.enabled == ("database",)
    assert config.database_rules == tmp_path / "db.rules.json"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "top level must be an object"),
        ('{"emulators": {"database": {"port": "x"}}}', "port must be a number"),
        ('{"emulators": []}', "'emulators' must be an object"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "firebase.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.json")
