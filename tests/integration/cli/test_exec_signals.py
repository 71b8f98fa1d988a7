"""``emulators:exec`` as a process supervisor: its own group, signals forwarded, nothing orphaned;
and the export commands around it (``emulators:export``, ``--export-on-exit`` without a value,
``--import`` of a ``firebase-sync export`` directory).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("firebase-sync"))
PROJECT = "demo-signals"




def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "EMULATOR" not in k and "PROJECT" not in k}


def _python(script: str) -> str:
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(textwrap.dedent(script))}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# A grandchild (the shell stays its parent) that records its pid and waits forever.
WAITER = """
import os, pathlib, sys, time
pathlib.Path(sys.argv[1]).write_text(str(os.getpid()))
try:
    while True:
        time.sleep(0.1)
except KeyboardInterrupt:
    sys.exit(130)
"""


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_is_forwarded_to_the_command_group(
    config: Path, tmp_path: Path, signum: int, status: int
) -> None:
    pid_file = tmp_path / "pid"
    command = f"{_python(WAITER)} {shlex.quote(str(pid_file))}; echo after"
    process = subprocess.Popen(
        [
            CLI,
            "emulators:exec",
            "--config",
            str(config),
            "--only",
            "database",
            "-P",
            PROJECT,
            command,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline and process.poll() is None, process.stderr
            time.sleep(0.05)
        grandchild = int(pid_file.read_text())
        assert os.getpgid(grandchild) != os.getpgid(process.pid)  # its own process group
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == status, err
    assert "Traceback" not in err
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild), "the command was orphaned"
    ports = json.loads(config.read_text())["emulators"]
    assert f"127.0.0.1:{ports['database']['port']}" in err  # where the emulators listen


def test_command_status_is_passed_through(config: Path) -> None:
    result = subprocess.run(
        [CLI, "emulators:exec", "--config", str(config), "--only", "database", "exit 3"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert result.returncode == 3
    assert "Database" in result.stderr and result.stdout == ""


def test_emulators_export_and_bare_export_on_exit(config: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    snapshot = tmp_path / "snapshot"
    write = f"""
    import os, subprocess, sys, urllib.request
    host = os.environ["FIREBASE_DATABASE_EMULATOR_HOST"]
    urllib.request.urlopen(urllib.request.Request(
        f"http://{{host}}/a.json?ns={PROJECT}-default-rtdb", data=b'{{"b": 1}}', method="PUT"))
    done = subprocess.run([{CLI!r}, "emulators:export", {str(snapshot)!r}],
                          capture_output=True, text=True)
    print(done.stdout)
    absent = subprocess.run([{CLI!r}, "emulators:export", "other", "--only", "firestore"],
                            capture_output=True, text=True)
    print("absent:", absent.returncode, absent.stderr.strip())
    sys.exit(done.returncode)
    """
    # first run: --import names a directory that does not exist yet, as firebase-tools allows
    first = subprocess.run(
        [
            CLI,
            "emulators:exec",
            "--config",
            str(config),
            "--only",
            "database",
            "-P",
            PROJECT,
            "--import",
            str(data),
            "--export-on-exit",
            _python(write),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    assert "Export complete" in first.stdout
    assert "absent: 1 Error: not running: firestore" in first.stdout
    for directory in (snapshot, data):
        exported = directory / "database_export" / f"{PROJECT}-default-rtdb.json"
        assert json.loads(exported.read_text()) == {"a": {"b": 1}}
    # the second run loads it back and exports to the same place again
    read = f"""
    import json, os, urllib.request
    host = os.environ["FIREBASE_DATABASE_EMULATOR_HOST"]
    print(json.load(urllib.request.urlopen(f"http://{{host}}/a.json?ns={PROJECT}-default-rtdb")))
    """
    second = subprocess.run(
        [
            CLI,
            "emulators:exec",
            "--config",
            str(config),
            "--only",
            "database",
            "-P",
            PROJECT,
            "--import",
            str(data),
            "--export-on-exit",
            "--",
            _python(read),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        cwd=tmp_path,
    )
    assert second.returncode == 0, second.stderr
    assert "{'b': 1}" in second.stdout


def test_import_of_a_firebase_sync_export(config: Path, tmp_path: Path) -> None:
    export = tmp_path / "transfer"
    seed = f"""
    import os, subprocess, sys, urllib.request
    from google.cloud import firestore
    client = firestore.Client(project="{PROJECT}")
    client.document("products/p1").set({{"name": "Pen"}})
    client.document("products/p1/reviews/r1").set({{"stars": 5}})
    host = os.environ["FIREBASE_DATABASE_EMULATOR_HOST"]
    urllib.request.urlopen(urllib.request.Request(
        f"http://{{host}}/prices.json?ns={PROJECT}-default-rtdb", data=b'{{"p1": 4}}',
        method="PUT"))
    done = subprocess.run([{CLI!r}, "export", {str(export)!r}, "firestore:products",
                           "rtdb:/prices", "-q"], capture_output=True, text=True)
    sys.exit(done.returncode or bool(done.stderr))
    """
    seeded = subprocess.run(
        [CLI, "emulators:exec", "--config", str(config), "-P", PROJECT, _python(seed)],
        capture_output=True,
        text=True,
        timeout=90,
        env=_env(),
    )
    assert seeded.returncode == 0, seeded.stderr
    read = f"""
    import json, os, urllib.request
    from google.cloud import firestore
    client = firestore.Client(project="{PROJECT}")
    host = os.environ["FIREBASE_DATABASE_EMULATOR_HOST"]
    print(json.dumps({{
        "p1": client.document("products/p1").get().to_dict(),
        "r1": client.document("products/p1/reviews/r1").get().to_dict(),
        "prices": json.load(urllib.request.urlopen(
            f"http://{{host}}/prices.json?ns={PROJECT}-default-rtdb")),
    }}))
    """
    loaded = subprocess.run(
        [
            CLI,
            "emulators:exec",
            "--config",
            str(config),
            "-P",
            PROJECT,
            "--import",
            str(export),
            _python(read),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        env=_env(),
    )
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout.splitlines()[-1]) == {
        "p1": {"name": "Pen"},
        "r1": {"stars": 5},
        "prices": {"p1": 4},
    }
    assert "imported 3 records" in loaded.stderr


# Reads a line from the terminal (impossible from a background group), then waits for Ctrl-C.
INTERACTIVE = """
import signal, time
signal.signal(signal.SIGINT, signal.SIG_DFL)  # die of Ctrl-C, as most programs do
line = input("name? ")
print("hello " + line, flush=True)
while True:
    time.sleep(0.1)
"""


def test_on_a_terminal_the_command_reads_it_and_ctrl_c_exits_130(config: Path) -> None:
    import pty

    argv = [
        CLI,
        "emulators:exec",
        "--config",
        str(config),
        "--only",
        "database",
        _python(INTERACTIVE),
    ]
    pid, master = pty.fork()
    if pid == 0:  # the child: firebase-sync with the pty as its controlling terminal
        os.execve(CLI, argv, _env())
    output = b""

    def read_until(marker: bytes) -> None:
        nonlocal output
        deadline = time.monotonic() + 30
        while marker not in output:
            assert time.monotonic() < deadline, output
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            output += chunk

    try:
        read_until(b"name? ")
        os.write(master, b"Ann\n")
        read_until(b"hello Ann")
        os.write(master, b"\x03")  # Ctrl-C, as the terminal delivers it
        read_until(b"\x00never")  # drain until firebase-sync closes the terminal
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(master)
    assert os.waitstatus_to_exitcode(status) == 130, output
    assert b"Traceback" not in output


def test_firestore_delete_shows_progress_on_a_terminal(config: Path) -> None:
    import pty

    script = f"""
    import subprocess
    from google.cloud import firestore
    client = firestore.Client(project="{PROJECT}")
    for start in range(0, 1200, 500):
        batch = client.batch()
        for i in range(start, min(start + 500, 1200)):
            batch.set(client.document(f"bulk/d{{i:04}}"), {{"i": i}})
        batch.commit()
    subprocess.run([{CLI!r}, "firestore:delete", "bulk", "-r", "-f"], check=True)
    print("left:", len(list(client.collection("bulk").stream())))
    """
    argv = [
        CLI,
        "emulators:exec",
        "--config",
        str(config),
        "--only",
        "firestore",
        "-P",
        PROJECT,
        _python(script),
    ]
    pid, master = pty.fork()
    if pid == 0:
        os.execve(CLI, argv, _env())
    output = b""
    try:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(master)
    assert os.waitstatus_to_exitcode(status) == 0, output
    assert b"Deleted 1200 docs (" in output
    assert b"left: 0" in output


def test_a_failed_import_never_exports_over_its_seed(config: Path, tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    seed.mkdir()
    manifest = {
        "format": "firebase-sync-transfer",
        "version": 1,
        "created": "2025-01-01T00:00:00Z",
        "entries": [
            {
                "kind": "rtdb",
                "path": "/a",
                "file": "gone.jsonl",
                "count": 1,
                "bytes": 9,
                "sha256": "0" * 64,
            }
        ],
    }
    (seed / "manifest.json").write_text(json.dumps(manifest))
    result = subprocess.run(
        [
            CLI,
            "emulators:exec",
            "--config",
            str(config),
            "--import",
            str(seed),
            "--export-on-exit",
            "--",
            "true",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "gone.jsonl" in result.stderr.splitlines()[-1]
    assert sorted(p.name for p in seed.iterdir()) == ["manifest.json"]
