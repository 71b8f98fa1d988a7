"""The cache file: schema, version and damage detection, and the queue's order."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from firebase_sync.offline import (
    CacheCorrupted,
    CacheVersionMismatch,
    ForeignCacheFile,
    LocalCache,
)
from firebase_sync.offline.cache import APPLICATION_ID, SCHEMA_VERSION


def test_new_cache_is_wal_versioned_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    LocalCache(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_reopening_keeps_entries_resume_state_and_client_id(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with LocalCache(path) as cache:
        cache.save("rtdb:/p", [("a", '{"x":1}')], synced=True, resume_token=b"tok")
        client = cache.client_id
    with LocalCache(path) as cache:
        assert cache.entries("rtdb:/p") == [("a", '{"x":1}')]
        state = cache.resume_state("rtdb:/p")
        assert state is not None and state.resume_token == b"tok"
        assert cache.client_id == client
        assert cache.resume_state("rtdb:/other") is None


def test_a_file_that_is_not_sqlite_is_corrupt_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    path.write_bytes(b"hello, not a database" * 100)
    with pytest.raises(CacheCorrupted) as caught:
        LocalCache(path)
    assert caught.value.path == str(path)
    assert path.read_bytes() == b"hello, not a database" * 100


def test_a_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (name TEXT)")
    db.commit()
    db.close()
    with pytest.raises(ForeignCacheFile):
        LocalCache(path)
    other = tmp_path / "d.db"
    db = sqlite3.connect(other)
    db.execute("PRAGMA application_id = 1234")
    db.commit()
    db.close()
    with pytest.raises(ForeignCacheFile):
        LocalCache(other)


def test_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    LocalCache(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(CacheVersionMismatch) as caught:
        LocalCache(path)
    assert (caught.value.found, caught.value.expected) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)


def test_damaged_pages_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with LocalCache(path) as cache:
        cache.save("s", [(f"k{i}", "x" * 200) for i in range(2000)], synced=True)
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    for offset in range(8192, len(data) - 4096, 4096):
        data[offset + 100 : offset + 300] = b"\xff" * 200
    path.write_bytes(bytes(data))
    with pytest.raises(CacheCorrupted):
        cache = LocalCache(path)
        cache.entries("s")


def test_queue_keeps_order_per_source_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with LocalCache(path) as cache:
        ids = [
            cache.enqueue(f"s{i % 2}", f"k{i}", "delete", None, None).write_id for i in range(10)
        ]
    with LocalCache(path) as cache:
        assert [w.write_id for w in cache.pending("s0")] == ids[0::2]
        assert [w.write_id for w in cache.pending()] == ids
        first = cache.next_pending("s1")
        assert first is not None and first.write_id == ids[1]
        cache.complete(ids[1])
        cache.fail(ids[3], "conflict")
        nxt = cache.next_pending("s1")
        assert nxt is not None and nxt.write_id == ids[5]
        stats = cache.queue_statistics("s1")
        assert (stats.depth, stats.failed) == (3, 1)
        assert stats.oldest_age is not None and stats.oldest_age >= 0
        assert cache.retry() == 1
        assert [w.write_id for w in cache.pending("s1")] == [ids[3], ids[5], ids[7], ids[9]]
        assert cache.drop([ids[3], ids[5]]) == 2
        assert cache.queue_statistics().depth == 7


def test_enqueue_records_data_and_base(tmp_path: Path) -> None:
    with LocalCache(tmp_path / "c.db") as cache:
        write = cache.enqueue("s", "k", "update", [["n", "increment", 1]], {"value": None})
        (stored,) = cache.pending()
        assert stored == write
        assert stored.data == [["n", "increment", 1]] and stored.base == {"value": None}
