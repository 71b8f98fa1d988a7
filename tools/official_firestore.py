"""Start and stop the official Cloud Firestore emulator (the Java one) for side-by-side runs.

Used by the integration tests, the differential fuzzer, the system-test script and the
benchmarks. The JAR is looked up in ``FIRESTORE_EMULATOR_JAR``, the gcloud component
(``google-cloud-cli-firestore-emulator``) and firebase-tools' download cache; ``java`` on PATH.
Nothing here imports the embedded emulator.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

JAR_VARIABLE = "FIRESTORE_EMULATOR_JAR"
MAIN_CLASS = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"
_CANDIDATES = (
    "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar",
    "/usr/share/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar",
    "~/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar",
    "~/.cache/firebase/emulators/cloud-firestore-emulator-v*.jar",
)


def find_jar() -> Path | None:
    """The official emulator's JAR, or None when it is not installed."""
    named = os.environ.get(JAR_VARIABLE)
    if named:
        return Path(named) if Path(named).is_file() else None
    for pattern in _CANDIDATES:
        for match in sorted(glob.glob(os.path.expanduser(pattern)), reverse=True):
            if Path(match).is_file():
                return Path(match)
    return None


def unavailable_reason() -> str | None:
    """Why the official emulator cannot run here (one line), or None when it can."""
    if shutil.which("java") is None:
        return "java is not on PATH"
    if find_jar() is None:
        return f"its JAR is not installed (set {JAR_VARIABLE} to point at one)"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OfficialFirestore:
    """One official emulator process on 127.0.0.1 and a free port.

    ``start()`` returns once ``GET /`` answers ``Ok``; ``stop()`` ends the JVM (SIGTERM, then
    SIGKILL). Its output goes to a temporary log file, shown in the error when it fails to start.
    """

    def __init__(self, port: int | None = None, rules: str | None = None) -> None:
        self.port = port or free_port()
        self.rules = rules
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="official-firestore-", suffix=".log")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 90.0) -> str:
        """Launch the JVM and wait until it serves; returns ``host:port``."""
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(f"the official Firestore emulator cannot run: {reason}")
        command = [
            "java",
            "-cp",
            str(find_jar()),
            MAIN_CLASS,
            "start",
            "--host=127.0.0.1",
            f"--port={self.port}",
        ]
        if self.rules:
            command.append(f"--rules={self.rules}")
        self.process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the official emulator exited early:\n{self.output()}")
            if self.ready():
                return self.host
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the official emulator did not start in {timeout} s:\n{self.output()}")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.host}/", timeout=2) as response:
                return bytes(response.read()).strip().startswith(b"Ok")
        except (urllib.error.URLError, OSError):
            return False

    def output(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")[-4000:]

    def reset(self, project: str, database: str = "(default)") -> None:
        """Delete every document of one database (the emulator's DELETE endpoint)."""
        request = urllib.request.Request(
            f"http://{self.host}/emulator/v1/projects/{project}/databases/{database}/documents",
            method="DELETE",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (local)
            response.read()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._log.close()

    def __enter__(self) -> OfficialFirestore:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
