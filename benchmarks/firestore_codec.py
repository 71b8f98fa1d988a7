"""The Firestore value codec's decode cost, against the client library's own conversion.

One typical document (strings, numbers, an array, a timestamp, a geo point, a reference and
a nested map) is decoded many times from its protobuf:
  codec    ``decode_fields``: what a listener does for every document it receives;
  client   google-cloud-firestore's own decoding plus ``from_client``: what ``get`` and
           queries do (the same values, proven by tests/unit/kit/test_kit_firestore_codec.py).
Best of several rounds, microseconds per document, and the ratio measured in the same run.

Run: .venv/bin/python benchmarks/firestore_codec.py [--documents 20000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from google.auth.credentials import AnonymousCredentials  # noqa: E402
from google.cloud.firestore_v1 import _helpers  # noqa: E402
from google.cloud.firestore_v1.async_client import AsyncClient  # noqa: E402
from google.cloud.firestore_v1.types import document as document_types  # noqa: E402

from firebase_sync._wire import firestore_values as codec  # noqa: E402
from firebase_sync.models import GeoPoint, Reference  # noqa: E402

DATABASE = "projects/demo-bench/databases/(default)"
DOCUMENT = {
    "name": "Notebook",
    "price": 4.5,
    "stock": 12,
    "tags": ["paper", "a5", "dotted"],
    "updated": dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC),
    "where": GeoPoint(48.85, 2.35),
    "maker": Reference("makers/acme"),
    "dimensions": {"w": 148, "h": 210, "unit": "mm", "layers": [1, 2, {"paper": "80g"}]},
}


def best(rounds: int, documents: int, decode: Callable[[], Any]) -> float:
    fastest = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(documents):
            decode()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest / documents * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")  # the client never connects
    client = AsyncClient(project="demo-bench", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    fields = codec.encode_fields(DOCUMENT, database=DATABASE)
    wrapped = {key: document_types.Value.wrap(value) for key, value in fields.items()}
    assert codec.decode_fields(fields, database=DATABASE) == codec.from_client(
        _helpers.decode_dict(wrapped, client)
    )

    def by_codec() -> Any:
        return codec.decode_fields(fields, database=DATABASE)

    def by_client() -> Any:
        return codec.from_client(_helpers.decode_dict(wrapped, client))

    ours = best(args.rounds, args.documents, by_codec)
    theirs = best(args.rounds, args.documents, by_client)
    print(f"codec  decode_fields:                {ours:7.2f} us/document")
    print(f"client decode_dict + from_client:    {theirs:7.2f} us/document")
    print(f"ratio client / codec:                {theirs / ours:7.2f}")


if __name__ == "__main__":
    main()
