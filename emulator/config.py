"""Reading ``firebase.json`` the way the official CLI reads it (the parts the emulators use)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PROJECT = "demo-firebase-sync"
DEFAULT_HOST = "127.0.0.1"
#: the official CLI's defaults when firebase.json names no port.
DEFAULT_PORTS = {"database": 9000, "firestore": 8080, "hub": 4400}
SERVICES = ("database", "firestore")


class ConfigError(ValueError):
    """firebase.json is missing, unreadable, or says something we cannot honour."""


@dataclass(frozen=True)
class EmulatorConfig:
    """Ports, host and rules for the emulators, as firebase.json declares them."""

    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    hosts: dict[str, str] = field(default_factory=dict)
    enabled: tuple[str, ...] = SERVICES
    database_rules: Path | None = None
    firestore_rules: Path | None = None
    source: Path | None = None

    def host_for(self, name: str, override: str | None = None) -> str:
        """The address ``name`` binds to: --host, then firebase.json, then 127.0.0.1."""
        return override or self.hosts.get(name) or DEFAULT_HOST


def _rules_path(section: object, base: Path) -> Path | None:
    # Single form {"rules": ...}, or multi-instance form [{"instance": ..., "rules": ...}].
    entries = section if isinstance(section, list) else [section]
    for entry in entries:
        rules = entry.get("rules") if isinstance(entry, dict) else None
        if isinstance(rules, str):
            return base / rules
    return None


def load_config(path: Path | None = None) -> EmulatorConfig:
    """Load ``path`` (default ``./firebase.json``); without a file, use the CLI defaults."""
    if path is None:
        candidate = Path.cwd() / "firebase.json"
        if not candidate.exists():
            return EmulatorConfig()
        path = candidate
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be an object")
    emulators = raw.get("emulators", {})
    if not isinstance(emulators, dict):
        raise ConfigError(f"{path}: 'emulators' must be an object")
    ports = dict(DEFAULT_PORTS)
    hosts: dict[str, str] = {}
    for name in (*SERVICES, "hub"):
        section = emulators.get(name)
        if section is None:
            continue
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: emulators.{name} must be an object")
        if "port" in section:
            try:
                ports[name] = int(section["port"])
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{path}: emulators.{name}.port must be a number") from exc
        if isinstance(section.get("host"), str):
            hosts[name] = section["host"]
    # Like the CLI: the emulators that firebase.json configures, or all of them if it names none.
    declared = tuple(name for name in SERVICES if name in emulators or name in raw)
    base = path.parent
    return EmulatorConfig(
        ports=ports,
        hosts=hosts,
        enabled=declared or SERVICES,
        database_rules=_rules_path(raw.get("database"), base),
        firestore_rules=_rules_path(raw.get("firestore"), base),
        source=path,
    )
