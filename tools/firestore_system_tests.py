"""Run Google's system tests of the installed google-cloud-firestore against both emulators.

    .venv/bin/python tools/firestore_system_tests.py [-k EXPR] [--cache DIR] [--only ours]

Downloads the client's source distribution (``pip download --no-binary :all: --no-deps
google-cloud-firestore==VERSION``) into a cache directory once, with the two test-only
packages its tests import (``mock``, ``google-cloud-testutils``, installed into the cache, not
the venv), then runs ``tests/system/test_system.py`` and ``test_system_async.py`` with pytest,
``FIRESTORE_EMULATOR_HOST`` pointing at the embedded emulator and then at the official one.
Prints both counts and the tests that pass on the official emulator but not on ours; exits 1
when that list is not empty (or the official emulator is missing and ``--only`` is not given).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.official_firestore import OfficialFirestore, unavailable_reason  # noqa: E402

PACKAGE = "google-cloud-firestore"
TEST_FILES = ("test_system.py", "test_system_async.py")
TEST_ONLY_PACKAGES = ("mock", "google-cloud-testutils")
PROJECT = "demo-system-tests"


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "firebase-sync" / "firestore-system-tests"


def prepare(cache: Path, version: str) -> tuple[Path, Path]:
    """The extracted ``tests/system`` directory and the test-only packages' directory."""
    root = cache / version
    tests = root / f"google_cloud_firestore-{version}" / "tests" / "system"
    deps = root / "deps"
    if not tests.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-binary",
                ":all:",
                "--no-deps",
                f"{PACKAGE}=={version}",
                "-d",
                str(root),
            ],
            check=True,
        )
        (sdist,) = root.glob("google_cloud_firestore-*.tar.gz")
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if "/tests/system/" in m.name]
            archive.extractall(root, members=members, filter="data")
    if not deps.is_dir():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--target",
                str(deps),
                *TEST_ONLY_PACKAGES,
            ],
            check=True,
        )
    return tests, deps


def run_suite(name: str, host: str, tests: Path, deps: Path, extra: list[str]) -> dict[str, str]:
    """Outcome per test id ("passed", "failed", "skipped") of one run against ``host``."""
    log_path = tests.parent.parent.parent / f"{name}.log"
    with tempfile.TemporaryDirectory() as tmp, log_path.open("w") as log:
        report = Path(tmp) / "report.xml"
        ini = Path(tmp) / "pytest.ini"
        # The async file shares a module-scoped client (it overrides the ``event_loop`` fixture
        # that pytest-asyncio 1.x no longer has): one loop per module gives it what it expects.
        ini.write_text(
            "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = module\n"
            "asyncio_default_test_loop_scope = module\n"
        )
        env = dict(os.environ)
        env.update(
            FIRESTORE_EMULATOR_HOST=host,
            GCLOUD_PROJECT=PROJECT,
            GOOGLE_CLOUD_PROJECT=PROJECT,
            PYTHONPATH=os.pathsep.join([str(tests), str(deps), env.get("PYTHONPATH", "")]),
        )
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:firebase_sync",
                "-c",
                str(ini),
                "--rootdir",
                str(tests),
                "--timeout",
                "120",
                "--tb=line",
                f"--junitxml={report}",
                "-o",
                "junit_family=xunit2",
                *extra,
                *(str(tests / f) for f in TEST_FILES),
            ],
            env=env,
            cwd=tests,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        print(
            f"{name}: ran in {time.perf_counter() - started:.0f} s (output: {log.name})", flush=True
        )
        return parse_report(report)


def parse_report(report: Path) -> dict[str, str]:
    outcomes: dict[str, str] = {}
    if not report.exists():
        return outcomes
    for case in ElementTree.parse(report).iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        kinds = {child.tag for child in case}
        if kinds & {"failure", "error"}:
            outcome = "failed"
        elif "skipped" in kinds:
            outcome = "skipped"
        else:
            outcome = "passed"
        # a teardown error adds a second entry for the same test: failure wins
        if outcomes.get(test_id) != "failed":
            outcomes[test_id] = outcome
    return outcomes


def counts(outcomes: dict[str, str]) -> str:
    c = Counter(outcomes.values())
    return f"{c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--only", choices=("ours", "official"))
    parser.add_argument("-k", dest="keyword", help="pytest -k expression")
    args = parser.parse_args()
    version = importlib.metadata.version(PACKAGE)
    tests, deps = prepare(args.cache, version)
    extra = ["-k", args.keyword] if args.keyword else []
    print(f"{PACKAGE} {version}: system tests from {tests}", flush=True)

    results: dict[str, dict[str, str]] = {}
    if args.only != "official":
        from firebase_sync_emulator.suite import EmulatorSuite

        threaded = EmulatorSuite(
            only=["firestore"], project=PROJECT, free_ports=True, with_hub=False
        ).start_in_thread()
        try:
            assert threaded.running is not None and threaded.running.firestore_host
            results["ours"] = run_suite("ours", threaded.running.firestore_host, tests, deps, extra)
        finally:
            threaded.stop()
    if args.only != "ours":
        reason = unavailable_reason()
        if reason:
            print(f"official emulator: not run ({reason})")
            return 1
        with OfficialFirestore() as official:
            results["official"] = run_suite("official", official.host, tests, deps, extra)

    for name, outcomes in results.items():
        print(f"{name}: {counts(outcomes)}")
    if len(results) < 2:
        return 0
    regressions = sorted(
        t
        for t, outcome in results["official"].items()
        if outcome == "passed" and results["ours"].get(t) != "passed"
    )
    print(f"passing on the official emulator and not on ours: {len(regressions)}")
    for test_id in regressions:
        print(f"  {test_id} ({results['ours'].get(test_id, 'not run')})")
    only_ours = sorted(
        t
        for t, outcome in results["ours"].items()
        if outcome == "passed" and results["official"].get(t) != "passed"
    )
    if only_ours:
        print(f"passing on ours and not on the official emulator: {len(only_ours)}")
        for test_id in only_ours:
            print(f"  {test_id} ({results['official'].get(test_id, 'not run')})")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
