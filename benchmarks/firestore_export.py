"""Firestore export / import in the official emulator's format, in-process: documents per second.

Fills the embedded emulator's store with N documents of mixed value types, then times
``export_store`` (encode + write) and ``import_store`` (read + decode + load) into a fresh
store. ``FIRESTORE_EXPORT_DOCS`` sets N (default 20,000).

    .venv/bin/python benchmarks/firestore_export.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from emulator.firestore.export import export_store, import_store
from emulator.firestore.store import Store, to_timestamp
from emulator.firestore.values import Document

DOCS = int(os.environ.get("FIRESTORE_EXPORT_DOCS", "20000"))
KEY = ("demo-bench", "(default)")


def document(i: int) -> object:
    doc = Document()
    doc.name = f"projects/{KEY[0]}/databases/{KEY[1]}/documents/items/d{i:07d}"
    fields = doc.fields
    fields["name"].string_value = f"item {i}"
    fields["price"].double_value = i / 4
    fields["stock"].integer_value = i
    fields["tags"].array_value.values.add().string_value = "a"
    fields["tags"].array_value.values.add().integer_value = i % 7
    fields["meta"].map_value.fields["ok"].boolean_value = True
    to_timestamp(1_700_000_000_000_000 + i, fields["when"].timestamp_value)
    to_timestamp(1_700_000_000_000_000 + i, doc.create_time)
    to_timestamp(1_700_000_000_000_000 + i, doc.update_time)
    return doc


def main() -> None:
    store = Store()
    store.load(KEY, [document(i) for i in range(DOCS)])
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        metadata = export_store(store, Path(tmp))
        exported = time.perf_counter() - started
        size = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
        fresh = Store()
        started = time.perf_counter()
        import_store(fresh, Path(tmp), metadata)
        imported = time.perf_counter() - started
    assert len(fresh.database(KEY).docs) == DOCS
    print(f"documents: {DOCS}, export size {size / 1e6:.1f} MB")
    print(f"export: {exported:.2f} s ({DOCS / exported:,.0f} docs/s)")
    print(f"import: {imported:.2f} s ({DOCS / imported:,.0f} docs/s)")


if __name__ == "__main__":
    main()
