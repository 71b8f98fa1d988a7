"""The README's snippets run exactly as written, on the embedded emulators.

Each ```python block either is a test module (run with pytest, in pytest-asyncio's strict and auto
modes) or a program, run with the ``emulators:exec`` command the README gives for it, in a
directory whose ``.venv`` is this virtual environment and whose firebase.json names free ports.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from user_project import free_port

CHECKOUT = Path(__file__).resolve().parents[3]
README = (CHECKOUT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
PROGRAMS = [b for b in BLOCKS if "def test_" not in b]
TESTS = [b for b in BLOCKS if "def test_" in b]
_EMULATOR_VARIABLES = (
    "FIREBASE_DATABASE_EMULATOR_HOST",
    "FIRESTORE_EMULATOR_HOST",
    "FIREBASE_EMULATOR_HUB",
    "GCLOUD_PROJECT",
    "GOOGLE_CLOUD_PROJECT",
    "PYTEST_XDIST_WORKER",
    "PYTEST_ADDOPTS",
)


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _EMULATOR_VARIABLES}


def command_for(block: str) -> str:
    """The first `.venv/bin/firebase-sync emulators:exec "..."` the README gives after ``block``."""
    after = README[README.index(block) + len(block) :]
    found = re.search(r'`(\.venv/bin/firebase-sync emulators:exec "[^"`]+")`', after)
    assert found, "each program in the README says how to run it"
    return found.group(1)


def workspace(root: Path, block: str) -> tuple[Path, str]:
    """``root`` with ``.venv`` (this venv), firebase.json (free ports) and the program saved."""
    command = command_for(block)
    name = re.search(r"python ([\w.]+\.py)", command)
    assert name
    (root / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    ports = ", ".join(f'"{e}": {{"port": {free_port()}}}' for e in ("database", "firestore", "hub"))
    (root / "firebase.json").write_text(f'{{"emulators": {{{ports}}}}}\n')
    (root / name.group(1)).write_text(block)
    return root, command


def test_the_readme_has_its_snippets() -> None:
    assert len(PROGRAMS) >= 2 and len(TESTS) >= 1


@pytest.mark.parametrize("index", range(len(PROGRAMS)))
def test_program_runs_as_written(index: int, tmp_path: Path) -> None:
    root, command = workspace(tmp_path, PROGRAMS[index])
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=root,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.strip(), "the snippet prints what it did"


def test_quick_start_prints_both_changes_and_ends(tmp_path: Path) -> None:
    root, command = workspace(tmp_path, PROGRAMS[0])
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=root,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert sorted(line.split(" id=")[0] for line in lines[:-1]) == [
        "firestore:products p1 added",
        "rtdb:/products p1 added",
    ]
    assert lines[-1] == "store: 2 entries"


def test_quick_start_ctrl_c_ends_without_a_traceback(tmp_path: Path) -> None:
    """Ctrl-C while the program waits on the network: status 130, nothing on stderr."""
    root, _ = workspace(tmp_path, PROGRAMS[0])
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        silent.settimeout(60)
        host = f"127.0.0.1:{silent.getsockname()[1]}"
        env = clean_environment()
        env["FIRESTORE_EMULATOR_HOST"] = env["FIREBASE_DATABASE_EMULATOR_HOST"] = host
        program = subprocess.Popen(
            [".venv/bin/python", "app.py"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            connection, _ = silent.accept()  # the program is inside asyncio.run, waiting
            with connection:
                program.send_signal(signal.SIGINT)
                out, err = program.communicate(timeout=30)
        finally:
            program.kill()
            program.wait()
    assert (program.returncode, err) == (130, ""), out + err


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_plugin_snippet_passes(mode: str, tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_prices.py").write_text(TESTS[0])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            f"asyncio_mode={mode}",
        ],
        cwd=tmp_path,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_ci_runs_the_readme_test_command() -> None:
    command = re.search(r"# 2\. the tests.*\n(.+)\n", README)
    assert command
    assert command.group(1) in (CHECKOUT / ".ci" / "run").read_text()


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.skipif("USER_INSTALL_FULL" not in os.environ, reason="set USER_INSTALL_FULL=1")
def test_the_first_command_on_a_fresh_copy(tmp_path: Path) -> None:
    """README command 1, literally, in a copy of HEAD with no venv (pip downloads: minutes)."""
    command = re.search(r"# 1\. the main job.*\n(.+)\n", README)
    assert command
    tree = subprocess.run(
        ["git", "archive", "HEAD"], cwd=CHECKOUT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp_path)], input=tree, check=True)
    done = subprocess.run(
        ["bash", "-c", command.group(1)],
        cwd=tmp_path,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "store matches the backend" in done.stdout
