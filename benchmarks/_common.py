"""Helpers shared by the benchmark scripts: an embedded suite and percentile summaries."""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from emulator.suite import EmulatorSuite, RunningSuite


@contextmanager
def embedded_emulators(only: Sequence[str] | None = None) -> Iterator[RunningSuite]:
    """Start the embedded emulators on free ports and export their variables for the SDKs."""
    threaded = EmulatorSuite(
        only=only, free_ports=True, with_hub=False, database_keepalive=1.0
    ).start_in_thread()
    assert threaded.running is not None
    os.environ.update(threaded.running.environment())
    try:
        yield threaded.running
    finally:
        threaded.stop()


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``samples`` (fraction in 0..1)."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def summary_ms(samples_s: Sequence[float]) -> str:
    """p50 / p99 / mean / max of durations given in seconds, printed in milliseconds."""
    ms = [s * 1000 for s in samples_s]
    return (
        f"n={len(ms)} p50={percentile(ms, 0.5):.2f} ms p99={percentile(ms, 0.99):.2f} ms "
        f"mean={statistics.fmean(ms):.2f} ms max={max(ms):.2f} ms"
    )
