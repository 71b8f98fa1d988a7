"""RTDB ``orderByChild`` + ``limitToFirst(100)`` over a node with 100,000 children.

Run: .venv/bin/python benchmarks/rtdb_query_index.py [--children 100000] [--runs 30]

The emulator runs in a child process (``_common.emulator_process``); the children
``{score, name}`` are written with one PUT, then raw REST GETs
``orderBy="score"&startAt=X&limitToFirst=100`` (random X) are timed: the first (which builds the
index) and p50 / p99 of the rest. No official RTDB emulator is installed here, so the baseline is
the engine itself in this process: ``Query.select`` ranking every child per query (the previous
plan) against the indexed walk, on the same tree.
"""

from __future__ import annotations

import http.client
import json
import random
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emulator_process, percentile  # noqa: E402

from emulator.database.query import parse_query  # noqa: E402
from emulator.database.tree import Tree  # noqa: E402


def data(children: int) -> dict[str, dict[str, object]]:
    rng = random.Random(1)
    return {f"c{i:06}": {"score": rng.randrange(1_000_000), "name": f"n{i}"}
            for i in range(children)}


def over_http(children: int, runs: int) -> None:
    with emulator_process(only=("database",)) as emu:
        host, port = emu.database_host.rsplit(":", 1)
        ns = f"{emu.project}-default-rtdb"
        conn = http.client.HTTPConnection(host, int(port), timeout=300)
        t0 = time.perf_counter()
        conn.request("PUT", f"/big.json?ns={ns}&print=silent", json.dumps(data(children)))
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 204, resp.status
        print(f"  loaded {children:,} children (one PUT) in {time.perf_counter() - t0:.2f} s")
        rng = random.Random(7)
        times = []
        for _ in range(runs + 1):
            low = rng.randrange(500_000)
            query = f"orderBy={quote(json.dumps('score'))}&startAt={low}&limitToFirst=100"
            t0 = time.perf_counter()
            conn.request("GET", f"/big.json?ns={ns}&{query}")
            resp = conn.getresponse()
            body = json.loads(resp.read())
            times.append(time.perf_counter() - t0)
            assert len(body) == 100, len(body)
        conn.close()
    rest = times[1:]
    print(f"  REST orderByChild('score').startAt(X).limitToFirst(100) over {children:,} "
          f"children: first {times[0] * 1000:.1f} ms, then n={len(rest)} "
          f"p50 {percentile(rest, 0.5) * 1000:.2f} ms p99 {percentile(rest, 0.99) * 1000:.2f} ms")


def in_process(children: int, runs: int) -> None:
    tree = Tree(lambda: 0)
    tree.set(("big",), data(children))
    rng = random.Random(7)
    queries = [parse_query({"orderBy": '"score"', "startAt": str(rng.randrange(500_000)),
                            "limitToFirst": "100"}) for _ in range(runs)]
    tree.select(("big",), queries[0])  # build the index
    indexed, ranked = [], []
    for q in queries:
        assert q is not None
        t0 = time.perf_counter()
        a = tree.select(("big",), q)
        indexed.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b = q.select(tree.node(("big",)))
        ranked.append(time.perf_counter() - t0)
        assert a == b
    fast, slow = percentile(indexed, 0.5), percentile(ranked, 0.5)
    print(f"  engine only, p50: indexed walk {fast * 1000:.3f} ms, ranking every child "
          f"{slow * 1000:.1f} ms ({slow / fast:,.0f}x)")


def main() -> None:
    children = int(sys.argv[sys.argv.index("--children") + 1]) if "--children" in sys.argv \
        else 100_000
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 30
    print(f"RTDB orderByChild + limitToFirst(100) over {children:,} children:")
    over_http(children, runs)
    in_process(children, min(runs, 10))


if __name__ == "__main__":
    main()
