"""One export story: every format ``emulators:start --import`` meets, loaded and written.

Side by side with the official Cloud Firestore emulator (skipped where Java or its JAR is
absent): its own export is imported by ours, and ours is imported by it, with every value type.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tools.official_firestore import find_jar, free_port, unavailable_reason

CLI = str(Path(sys.executable).with_name("firebase-sync"))
PROJECT = "demo-formats"




def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "EMULATOR" not in k and "PROJECT" not in k}


def _exec(config: Path, script: str, *options: str) -> subprocess.CompletedProcess[str]:
    command = f"{shlex.quote(sys.executable)} -c {shlex.quote(textwrap.dedent(script))}"
    return subprocess.run(
        [CLI, "emulators:exec", "--config", str(config), "--project", PROJECT, *options, command],
        capture_output=True,
        text=True,
        timeout=90,
        env=_clean_env(),
    )


# Runs inside `emulators:exec` or against the official emulator: FIRESTORE_EMULATOR_HOST set.
SEED = """
import datetime as dt, math, os
from google.cloud import firestore
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
client = firestore.Client(project="PROJECT")
stamp = DatetimeWithNanoseconds(2024, 5, 1, 12, 0, 0, nanosecond=123456000, tzinfo=dt.timezone.utc)
client.document("products/p1").set({
    "name": "Pen", "price": 1.0, "stock": 2**62, "neg": -7, "nan": math.nan, "inf": -math.inf,
    "when": stamp, "blob": b"\\x00\\xffbytes", "where": firestore.GeoPoint(48.85, 2.35),
    "maker": client.document("users/u1"), "tags": ["a", 1, None, {"deep": True}],
    "nested": {"a": {"b": [], "c": [1.5, "x"]}, "e": {}}, "empty": [], "t": True, "n": None,
    "long": "é" * 2000,
})
client.document("products/p1/reviews/r1").set({"stars": 5})
client.document("ghost/g1/sub/s1").set({"x": "y"})
client.document("users/u1").set({"name": "Ann"})
# enough data to cross the format's 32 KiB blocks, and one record spanning several
batch = client.batch()
for i in range(300):
    batch.set(client.document(f"bulk/b{i:03}"), {"i": i, "pad": "x" * 200})
batch.commit()
client.document("big/one").set({"blob": b"\x01" * 100_000})
""".replace("PROJECT", PROJECT)

DUMP = """
import json, math, os
from google.cloud import firestore
client = firestore.Client(project="PROJECT")
def plain(v):
    if isinstance(v, float) and math.isnan(v): return "NaN"
    if isinstance(v, float) and math.isinf(v): return str(v)
    if isinstance(v, dict): return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list): return [plain(x) for x in v]
    if isinstance(v, bytes): return v.hex()
    if isinstance(v, firestore.GeoPoint): return [v.latitude, v.longitude]
    if hasattr(v, "isoformat"): return v.isoformat()
    if hasattr(v, "path"): return "ref:" + v.path
    return v
out = {}
for coll in client.collections():  # each collection with every descendant, one query
    for snap in coll.recursive().stream():
        out[snap.reference.path] = plain(snap.to_dict())
print("DUMP " + json.dumps(out, sort_keys=True))
""".replace("PROJECT", PROJECT)


def _dump(stdout: str) -> dict[str, Any]:
    line = next(line for line in stdout.splitlines() if line.startswith("DUMP "))
    data: dict[str, Any] = json.loads(line[5:])
    return data


EXPECTED_PATHS = {
    "products/p1",
    "products/p1/reviews/r1",
    "ghost/g1/sub/s1",
    "users/u1",
    "big/one",
    *(f"bulk/b{i:03}" for i in range(300)),
}


def _check(dump: dict[str, Any]) -> None:
    assert set(dump) == EXPECTED_PATHS
    p1 = dump["products/p1"]
    assert p1["stock"] == 2**62 and p1["neg"] == -7 and p1["price"] == 1.0
    assert p1["nan"] == "NaN" and p1["inf"] == "-inf"
    assert p1["when"] == "2024-05-01T12:00:00.123456+00:00"
    assert p1["blob"] == b"\x00\xffbytes".hex()
    assert p1["where"] == [48.85, 2.35]
    assert p1["maker"] == "ref:users/u1"
    assert p1["tags"] == ["a", 1, None, {"deep": True}]
    assert p1["nested"] == {"a": {"b": [], "c": [1.5, "x"]}, "e": {}}
    assert p1["empty"] == [] and p1["t"] is True and p1["n"] is None
    assert p1["long"] == "é" * 2000
    assert dump["products/p1/reviews/r1"] == {"stars": 5}
    assert dump["bulk/b123"] == {"i": 123, "pad": "x" * 200}
    assert dump["big/one"] == {"blob": ("01" * 100_000)}


class Official:
    """The official Cloud Firestore emulator on a free port."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                "java",
                "-cp",
                str(find_jar()),
                "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
                "start",
                "--host=127.0.0.1",
                f"--port={self.port}",
                *args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1) as r:
                    if r.read().strip() == b"Ok":
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("the official Firestore emulator did not start")
            time.sleep(0.2)

    def run(self, script: str) -> subprocess.CompletedProcess[str]:
        env = {**_clean_env(), "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{self.port}"}
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )

    def export(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        body = json.dumps(
            {
                "database": f"projects/{PROJECT}/databases/(default)",
                "export_directory": str(directory),
                "export_name": "firestore_export",
            }
        ).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/emulator/v1/projects/{PROJECT}:export",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=30).read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def official() -> Iterator[type[Official]]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"the official Firestore emulator cannot run: {reason}")
    yield Official


def test_our_export_round_trips_through_our_import(config: Path, tmp_path: Path) -> None:
    export = tmp_path / "ours"
    seeded = _exec(config, SEED, "--only", "firestore", "--export-on-exit", str(export))
    assert seeded.returncode == 0, seeded.stderr
    metadata = json.loads((export / "firebase-export-metadata.json").read_text())
    assert metadata["firestore"]["metadata_file"] == (
        "firestore_export/firestore_export.overall_export_metadata"
    )
    loaded = _exec(config, DUMP, "--only", "firestore", "--import", str(export))
    assert loaded.returncode == 0, loaded.stderr
    _check(_dump(loaded.stdout))


def test_official_export_is_imported_by_ours(
    official: type[Official], config: Path, tmp_path: Path
) -> None:
    theirs = official()
    try:
        seeded = theirs.run(SEED)
        assert seeded.returncode == 0, seeded.stderr
        _check(_dump(theirs.run(DUMP).stdout))  # the oracle agrees with our expectations
        theirs.export(tmp_path / "official")
    finally:
        theirs.stop()
    # firebase-tools layout: the official files plus firebase-export-metadata.json
    layout = tmp_path / "official"
    (layout / "firebase-export-metadata.json").write_text(
        json.dumps(
            {
                "version": "14.0.0",
                "firestore": {
                    "version": "1.19.7",
                    "path": "firestore_export",
                    "metadata_file": "firestore_export/firestore_export.overall_export_metadata",
                },
            }
        )
    )
    loaded = _exec(config, DUMP, "--only", "firestore", "--import", str(layout))
    assert loaded.returncode == 0, loaded.stderr
    _check(_dump(loaded.stdout))
    # a bare Firestore export directory (as a managed export is downloaded) loads too
    bare = _exec(config, DUMP, "--only", "firestore", "--import", str(layout / "firestore_export"))
    assert bare.returncode == 0, bare.stderr
    _check(_dump(bare.stdout))
    # an export of another project (a teammate's, production's) is loaded into ours
    elsewhere = DUMP.replace(f'project="{PROJECT}"', 'project="demo-elsewhere"')
    moved = _exec(
        config, elsewhere, "--only", "firestore", "--import", str(layout), "-P", "demo-elsewhere"
    )
    assert moved.returncode == 0, moved.stderr
    _check(_dump(moved.stdout))


def test_our_export_is_imported_by_the_official_emulator(
    official: type[Official], config: Path, tmp_path: Path
) -> None:
    export = tmp_path / "ours"
    seeded = _exec(config, SEED, "--only", "firestore", "--export-on-exit", str(export))
    assert seeded.returncode == 0, seeded.stderr
    metadata = json.loads((export / "firebase-export-metadata.json").read_text())
    seed_file = export / metadata["firestore"]["metadata_file"]
    theirs = official(f"--seed_from_export={seed_file}")
    try:
        dumped = theirs.run(DUMP)
    finally:
        theirs.stop()
    assert dumped.returncode == 0, dumped.stderr
    _check(_dump(dumped.stdout))


def test_reexport_keeps_sources_it_does_not_write(config: Path, tmp_path: Path) -> None:
    export = tmp_path / "both"
    rtdb = """
    import os, urllib.request
    host = os.environ["FIREBASE_DATABASE_EMULATOR_HOST"]
    urllib.request.urlopen(urllib.request.Request(
        f"http://{host}/k.json?ns=demo-formats-default-rtdb", data=b'"v"', method="PUT"))
    """
    first = _exec(config, SEED + textwrap.dedent(rtdb), "--export-on-exit", str(export))
    assert first.returncode == 0, first.stderr
    # now only the Database emulator runs and exports into the same directory
    again = _exec(
        config,
        "pass",
        "--only",
        "database",
        "--import",
        str(export),
        "--export-on-exit",
        str(export),
    )
    assert again.returncode == 0, again.stderr
    metadata = json.loads((export / "firebase-export-metadata.json").read_text())
    assert {"database", "firestore"} <= set(metadata)
    loaded = _exec(config, DUMP, "--only", "firestore", "--import", str(export))
    _check(_dump(loaded.stdout))
