"""Every user mistake and every unreachable backend: one line on stderr, a non-zero status.

Real processes, as a user runs them; no emulator is needed to fail well.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("firebase-sync"))


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No emulator variables, no project, no credentials (a fresh HOME)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if "EMULATOR" not in k and "PROJECT" not in k and k != "GOOGLE_APPLICATION_CREDENTIALS"
    }
    env.update(HOME=str(tmp_path), NO_GCE_CHECK="True", **extra)
    return env


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path, **env),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "variable"),
    [
        (("get", "firestore:products/p1"), "FIRESTORE_EMULATOR_HOST"),
        (("get", "rtdb:/products"), "FIREBASE_DATABASE_EMULATOR_HOST"),
        (("database:get", "/products"), "FIREBASE_DATABASE_EMULATOR_HOST"),
        (("firestore:delete", "products", "-r", "-f"), "FIRESTORE_EMULATOR_HOST"),
        (("watch", "firestore:products"), "FIRESTORE_EMULATOR_HOST"),
    ],
)
def test_demo_project_never_goes_to_production(
    tmp_path: Path, args: tuple[str, ...], variable: str
) -> None:
    line = _one_line_error(_run(tmp_path, *args))
    assert "demo-firebase-sync is a demo project" in line
    assert variable in line


def test_real_project_without_credentials_names_what_to_set(tmp_path: Path) -> None:
    line = _one_line_error(_run(tmp_path, "get", "-P", "my-real-project", "firestore:a/b"))
    assert "no Google credentials for project my-real-project" in line
    assert "GOOGLE_APPLICATION_CREDENTIALS" in line and "FIRESTORE_EMULATOR_HOST" in line


def test_firebaserc_default_project_and_p_override(tmp_path: Path) -> None:
    projects = {"default": "demo-from-rc", "staging": "demo-staging-id"}
    (tmp_path / ".firebaserc").write_text(json.dumps({"projects": projects}))
    assert "demo-staging-id is a demo project" in _one_line_error(
        _run(tmp_path, "get", "-P", "staging", "firestore:a/b")  # an alias, as firebase-tools
    )
    assert "demo-from-rc is a demo project" in _one_line_error(
        _run(tmp_path, "get", "firestore:a/b")
    )
    assert "demo-other is a demo project" in _one_line_error(
        _run(tmp_path, "get", "-P", "demo-other", "firestore:a/b")
    )


@pytest.mark.parametrize(
    ("variable", "args"),
    [
        ("FIRESTORE_EMULATOR_HOST", ("get", "firestore:products/p1")),
        ("FIREBASE_DATABASE_EMULATOR_HOST", ("database:get", "/")),
    ],
)
def test_dead_emulator_port_fails_within_seconds(
    tmp_path: Path, variable: str, args: tuple[str, ...]
) -> None:
    host = f"127.0.0.1:{_free_port()}"
    started = time.monotonic()
    line = _one_line_error(_run(tmp_path, *args, **{variable: host}))
    assert time.monotonic() - started < 15
    assert "cannot reach the" in line and host in line and variable in line


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"127.0.0.1:{server.getsockname()[1]}"


def test_silent_backend_hits_the_deadline(tmp_path: Path, black_hole: str) -> None:
    started = time.monotonic()
    result = _run(
        tmp_path,
        "get",
        "firestore:products/p1",
        "--timeout",
        "1",
        FIRESTORE_EMULATOR_HOST=black_hole,
    )
    line = _one_line_error(result)
    assert time.monotonic() - started < 15
    # our deadline, or the kit's own connect deadline when it fires first
    assert "no answer within 1 s" in line or "ConnectError" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("get", "mongo:/x"), "expected firestore:PATH or rtdb:/PATH"),
        (("nosuch",), "No such command"),
        (("database:get", "no-slash"), "Path must begin with /"),
        (("database:set", "/a", "-d", "{bad"), "Failed to parse JSON"),
        (("firestore:delete", "products"), "Must pass recursive or shallow"),
        (("firestore:delete",), "Must specify a path"),
        (("firestore:delete", "a/b", "-r", "--shallow"), "Cannot pass recursive and shallow"),
        (("query", "firestore:p", "--where", "a", "~", "1"), "unknown operator"),
        (("query", "firestore:p", "--start-at", "1"), "need --order-by"),
        (("emulators:start", "--export-on-exit"), "must be used with"),
        (("emulators:exec", "--only", "storage", "true"), "no emulator named storage"),
        (("emulators:start", "--import", "missing-dir"), "does not exist"),
        (("emulators:export", "out"), "no running emulators found"),
        (("import", "missing-dir"), "does not exist"),
    ],
)
def test_mistakes_are_one_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    hub = f"127.0.0.1:{_free_port()}"  # nothing listens there
    line = _one_line_error(
        _run(tmp_path, *args, FIRESTORE_EMULATOR_HOST="", FIREBASE_EMULATOR_HUB=hub)
    )
    assert message in line
