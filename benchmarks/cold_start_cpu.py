"""Cold start of both emulators, wall clock and CPU: ``emulators:exec --only ... true``.

Run: .venv/bin/python benchmarks/cold_start_cpu.py [--runs 10] [--only database,firestore]
     [--baseline DIR]

Like ``emulator_cold_start.py`` (the whole process, from exec to exit), plus the CPU time
(user + system) of the process tree, which a loaded machine inflates far less than the wall
clock. ``--baseline DIR`` runs the same command a second time with ``DIR`` (another checkout,
e.g. ``git archive <commit> | tar -x -C DIR``) first on ``PYTHONPATH``, alternating with ours.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import percentile  # noqa: E402
from emulator_cold_start import free_port  # noqa: E402


def one(only: str, config: Path, pythonpath: str | None) -> tuple[float, float]:
    cli = str(Path(sys.executable).with_name("firebase-sync"))
    ports = {n: {"port": free_port()} for n in ("database", "firestore", "hub")}
    config.write_text(json.dumps({"emulators": ports}))
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([cli, "emulators:exec", "--config", str(config), "--only", only, "true"],
                   check=True, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def report(label: str, samples: list[tuple[float, float]]) -> None:
    walls = [w * 1000 for w, _ in samples]
    cpus = [c * 1000 for _, c in samples]
    print(f"  {label}: wall p50 {percentile(walls, 0.5):.0f} ms (min {min(walls):.0f}), "
          f"CPU p50 {percentile(cpus, 0.5):.0f} ms (min {min(cpus):.0f}), n={len(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--only", default="database,firestore")
    parser.add_argument("--baseline", type=Path)
    args = parser.parse_args()
    ours: list[tuple[float, float]] = []
    base: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "firebase.json"
        one(args.only, config, None)  # warm the descriptor cache and the page cache
        if args.baseline:
            one(args.only, config, str(args.baseline))
        for _ in range(args.runs):
            ours.append(one(args.only, config, None))
            if args.baseline:
                base.append(one(args.only, config, str(args.baseline.resolve())))
    print(f"emulators:exec --only {args.only} true (whole process):")
    report("this checkout", ours)
    if base:
        report(f"baseline {args.baseline}", base)


if __name__ == "__main__":
    main()
