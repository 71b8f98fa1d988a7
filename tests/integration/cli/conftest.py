"""Fixtures shared by the CLI tests."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A firebase.json on free ports, so tests never clash with a running emulator."""
    path = tmp_path / "firebase.json"
    ports = {name: {"port": _free_port()} for name in ("database", "firestore", "hub")}
    path.write_text(json.dumps({"emulators": {**ports, "ui": {"enabled": False}}}))
    return path
