"""`firebase-sync emulators:start|exec` as a user runs them: real processes, real ports."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

CLI = str(Path(sys.executable).with_name("firebase-sync"))




def _exec(config: Path, script: str, *options: str) -> subprocess.CompletedProcess[str]:
    command = f"{shlex.quote(sys.executable)} -c {shlex.quote(textwrap.dedent(script))}"
    env = {k: v for k, v in os.environ.items() if "EMULATOR" not in k and k != "GCLOUD_PROJECT"}
    return subprocess.run(
        [CLI, "emulators:exec", "--config", str(config), *options, command],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_exec_passes_variables_and_exit_status(config: Path) -> None:
    ports = json.loads(config.read_text())["emulators"]
    result = _exec(
        config,
        """
        import json, os, sys, urllib.request
        keys = ["FIREBASE_DATABASE_EMULATOR_HOST", "FIREBASE_EMULATOR_HUB", "GCLOUD_PROJECT"]
        print(json.dumps({k: os.environ.get(k) for k in keys}))
        hub = "http://" + os.environ["FIREBASE_EMULATOR_HUB"] + "/emulators"
        print(json.dumps(json.load(urllib.request.urlopen(hub))))
        sys.exit(7)
        """,
        "--only",
        "database",
        "--project",
        "demo-cli",
    )
    assert result.returncode == 7, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    variables, listed = json.loads(lines[0]), json.loads(lines[1])
    assert variables == {
        "FIREBASE_DATABASE_EMULATOR_HOST": f"127.0.0.1:{ports['database']['port']}",
        "FIREBASE_EMULATOR_HUB": f"127.0.0.1:{ports['hub']['port']}",
        "GCLOUD_PROJECT": "demo-cli",
    }
    assert listed["database"]["port"] == ports["database"]["port"]
    assert listed["database"]["host"] == "127.0.0.1"
    assert set(listed) == {"database", "hub"}


def test_exec_success_exits_zero(config: Path) -> None:
    assert _exec(config, "pass", "--only", "database").returncode == 0


def test_port_in_use_is_a_clear_error(config: Path) -> None:
    port = json.loads(config.read_text())["emulators"]["database"]["port"]
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        result = _exec(config, "pass", "--only", "database")
    assert result.returncode != 0
    assert f"port {port}" in result.stderr and "already in use" in result.stderr


def test_unknown_emulator_is_a_clear_error(config: Path) -> None:
    result = _exec(config, "pass", "--only", "storage")
    assert result.returncode != 0
    assert "no emulator named storage" in result.stderr


def test_export_on_exit_then_import_round_trips(config: Path, tmp_path: Path) -> None:
    export = tmp_path / "export"
    writer = _exec(
        config,
        """
        import os, urllib.request
        host = os.environ["FIREBASE_DATABASE_EMULATOR_HOST"]
        for ns, body in (("demo-a", b'{"x": {"y": 1, ".priority": 5}}'), ("demo-b", b'"b"')):
            urllib.request.urlopen(urllib.request.Request(
                f"http://{host}/.json?ns={ns}", data=body, method="PUT"))
        """,
        "--only",
        "database",
        "--export-on-exit",
        str(export),
    )
    assert writer.returncode == 0, writer.stderr
    metadata = json.loads((export / "firebase-export-metadata.json").read_text())
    assert metadata["database"]["path"] == "database_export"
    reader = _exec(
        config,
        """
        import json, os, urllib.request
        host = os.environ["FIREBASE_DATABASE_EMULATOR_HOST"]
        for ns in ("demo-a", "demo-b"):
            url = f"http://{host}/.json?ns={ns}&format=export"
            print(json.dumps(json.load(urllib.request.urlopen(url)), sort_keys=True))
        """,
        "--only",
        "database",
        "--import",
        str(export),
    )
    assert reader.returncode == 0, reader.stderr
    lines = [line for line in reader.stdout.splitlines() if line.startswith(("{", '"'))]
    assert json.loads(lines[0]) == {"x": {".priority": 5, "y": 1}}
    assert json.loads(lines[1]) == "b"


def test_start_runs_until_sigterm_and_exports(config: Path, tmp_path: Path) -> None:
    export = tmp_path / "on-exit"
    port = json.loads(config.read_text())["emulators"]["database"]["port"]
    process = subprocess.Popen(
        [
            CLI,
            "emulators:start",
            "--config",
            str(config),
            "--only",
            "database",
            "--export-on-exit",
            str(export),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/k.json?ns=demo-s", data=b"42", method="PUT"
                )
                urllib.request.urlopen(request, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert f"127.0.0.1:{port}" in out
    exported = json.loads((export / "database_export" / "demo-s.json").read_text())
    assert exported == {"k": 42}


def test_hub_exports_on_request(config: Path, tmp_path: Path) -> None:
    target = tmp_path / "hub-export"
    result = _exec(
        config,
        f"""
        import json, os, urllib.error, urllib.request
        db = os.environ["FIREBASE_DATABASE_EMULATOR_HOST"]
        urllib.request.urlopen(urllib.request.Request(
            f"http://{{db}}/a.json?ns=demo-hub", data=b'{{"b": 1}}', method="PUT"))
        hub = "http://" + os.environ["FIREBASE_EMULATOR_HUB"] + "/_admin/export"
        def post(body):
            request = urllib.request.Request(hub, data=body, method="POST",
                                             headers={{"Content-Type": "application/json"}})
            try:
                return urllib.request.urlopen(request).status
            except urllib.error.HTTPError as error:
                return error.code
        print(post(json.dumps({{"path": {str(target)!r}}}).encode()))
        print(post(b"not json"), post(b"{{}}"), post(b'{{"path": "x", "targets": "database"}}'))
        """,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "200" in lines and "400 400 400" in lines
    metadata = json.loads((target / "firebase-export-metadata.json").read_text())
    assert set(metadata) >= {"version", "database", "firestore"}
    assert json.loads((target / "database_export" / "demo-hub.json").read_text()) == {"a": {"b": 1}}
