"""An export survives connections cut mid-stream: it resumes after the last document received."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from firebase_sync import RetryPolicy
from firebase_sync.testing import EmulatorHosts
from firebase_sync.transfer import FirestoreTransfer, Source, export_directory, read_manifest
from firebase_sync_emulator.faults import FaultProxy

# Enough attempts to outlast the gRPC channel's own reconnect backoff (about 1 s) after a cut.
FAST = RetryPolicy(attempts=20, initial=0.05, maximum=0.5, deadline=None)


async def test_firestore_export_resumes_after_cuts(
    emulators: EmulatorHosts,
    firestore_client: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from google.cloud import firestore

    batch = firestore_client.batch()
    for i in range(300):
        batch.set(firestore_client.document(f"items/i{i:03d}"), {"n": i, "pad": "x" * 80})
    batch.commit()
    name, port = emulators.firestore_host.rsplit(":", 1)
    proxy = FaultProxy(name, int(port))
    await proxy.start()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", proxy.address)
    client = firestore.AsyncClient(project=emulators.project)
    try:
        proxy.cut_after(6000)  # every connection dies after 6 KB: a few dozen documents
        transfer = FirestoreTransfer(client, page_size=1000, retry=FAST)
        await export_directory(tmp_path / "out", [Source("firestore", "items")], firestore=transfer)
    finally:
        await client._firestore_api.transport.grpc_channel.close()
        await proxy.stop()
    [entry] = read_manifest(tmp_path / "out").entries
    assert entry.count == 300
    assert proxy.stats.cuts >= 3
    lines = (tmp_path / "out" / entry.file).read_text().splitlines()
    assert len(set(lines)) == 300  # no document twice
