"""firebase-sync installed from this checkout into a fresh venv, as a user installs it.

A small user project (``user_project.py``) runs its own tests with the plugin in pytest-asyncio's
strict mode, in auto mode, and under ``-n 2`` against embedded and shared emulators; mypy --strict
checks it. The CI variant installs only firebase-sync itself into the new venv (its dependencies
come from this venv through a path entry, so no network is needed); the slow variant lets pip
install everything, the ``test`` extra included
(``USER_INSTALL_FULL=1 pytest -m slow tests/integration/plugin``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest
from user_project import TEST_COUNT, write_project

CHECKOUT = Path(__file__).resolve().parents[3]
TIMEOUT_S = 300
PASSED = f"{TEST_COUNT} passed"


@dataclass
class UserVenv:
    """A virtual environment with firebase-sync installed, and the user's project."""

    root: Path
    project: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def run(self, *command: str, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_EMULATOR_VARIABLES)}
        env.pop("PYTEST_XDIST_WORKER", None)
        env.pop("PYTEST_ADDOPTS", None)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return subprocess.run(
            command,
            cwd=self.project,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def pytest(self, *args: str) -> str:
        """Run the project's tests; return the output (the run must pass)."""
        done = self.run(str(self.bin / "python"), "-m", "pytest", "-q", *args)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        return done.stdout


_EMULATOR_VARIABLES = (
    "FIREBASE_DATABASE_EMULATOR_HOST",
    "FIRESTORE_EMULATOR_HOST",
    "FIREBASE_EMULATOR_HUB",
    "GCLOUD_PROJECT",
    "GOOGLE_CLOUD_PROJECT",
)


_NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "build", "*.egg-info", "__pycache__", "node_modules", ".*_cache", ".hypothesis"
)


def make_venv(root: Path, *, borrow_dependencies: bool) -> Path:
    # pip comes from this venv (``pip --python``): ensurepip would add ~10 s.
    venv.EnvBuilder(with_pip=False).create(root)
    if borrow_dependencies:
        # This interpreter's site-packages as plain path entries (their .pth files, this
        # checkout's editable install among them, stay unread): no download of dependencies.
        borrowed = [p for p in sys.path if Path(p).name == "site-packages"]
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        site = root / "lib" / version / "site-packages"
        (site / "zz_borrowed_dependencies.pth").write_text("".join(f"{p}\n" for p in borrowed))
    return root / "bin"


def pip_install(bin_dir: Path, *args: str) -> None:
    pip = [sys.executable, "-m", "pip", "--python", str(bin_dir / "python")]
    done = subprocess.run(
        [*pip, "install", "-q", *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory: pytest.TempPathFactory) -> UserVenv:
    """firebase-sync built from the checkout and installed (without its dependencies)."""
    base = tmp_path_factory.mktemp("user")
    bin_dir = make_venv(base / "venv", borrow_dependencies=True)
    pip_install(bin_dir, "--no-deps", str(CHECKOUT))
    return UserVenv(base / "venv", write_project(base / "project"))


def test_strict_mode(user_venv: UserVenv) -> None:
    assert PASSED in user_venv.pytest()


def test_auto_mode(user_venv: UserVenv) -> None:
    assert PASSED in user_venv.pytest("-o", "asyncio_mode=auto")


def test_xdist_with_embedded_emulators(user_venv: UserVenv) -> None:
    assert PASSED in user_venv.pytest("-n", "2")


def test_xdist_with_shared_emulators(user_venv: UserVenv) -> None:
    done = user_venv.run(
        str(user_venv.bin / "firebase-sync"),
        "emulators:exec",
        f"{user_venv.bin / 'python'} -m pytest -q -n 2",
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert PASSED in done.stdout


def test_mypy_strict(user_venv: UserVenv) -> None:
    mypy = Path(sys.executable).with_name("mypy")
    if not mypy.exists():
        pytest.skip("mypy is not installed (the dev extra)")
    done = user_venv.run(
        str(mypy), "--python-executable", str(user_venv.bin / "python"), "--no-incremental"
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


def test_mypy_strict_after_the_readme_editable_install(tmp_path: Path) -> None:
    """The README installs with ``-e . --config-settings editable_mode=strict``: mypy sees it."""
    mypy = Path(sys.executable).with_name("mypy")
    if not mypy.exists():
        pytest.skip("mypy is not installed (the dev extra)")
    # A copy of the checkout: the editable install writes its link tree under ``build/``.
    source = tmp_path / "checkout"
    shutil.copytree(CHECKOUT, source, symlinks=True, ignore=_NOT_SOURCES)
    bin_dir = make_venv(tmp_path / "venv", borrow_dependencies=True)
    pip_install(
        bin_dir, "--no-deps", "-e", str(source), "--config-settings", "editable_mode=strict"
    )
    user = UserVenv(tmp_path / "venv", write_project(tmp_path / "project"))
    done = user.run(str(mypy), "--python-executable", str(bin_dir / "python"), "--no-incremental")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.skipif("USER_INSTALL_FULL" not in os.environ, reason="set USER_INSTALL_FULL=1")
def test_full_install_with_the_test_extra(tmp_path: Path) -> None:
    """pip resolves and installs everything, as on a user's machine (minutes: downloads)."""
    bin_dir = make_venv(tmp_path / "venv", borrow_dependencies=False)
    pip_install(bin_dir, f"{CHECKOUT}[test]")
    user = UserVenv(tmp_path / "venv", write_project(tmp_path / "project"))
    assert PASSED in user.pytest()
    assert PASSED in user.pytest("-n", "2")
