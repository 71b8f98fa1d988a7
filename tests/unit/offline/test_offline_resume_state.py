"""A snapshot's entries and its resume token are saved together or not at all: a worker that
dies in the middle of a save restarts from the previous token with the previous entries (and
so is sent the lost snapshot again), never from the new token with the old entries."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from firebase_sync.offline import LocalCache

SOURCE = "firestore:products"

# argv: cache path. Dies by SIGKILL when the save reaches the resume state, after the entries
# (5 MB: more than SQLite's page cache, so uncommitted pages spill into the WAL file).
_DIE_IN_SAVE = """
import os, signal, sys
from firebase_sync.offline import LocalCache

class Dying:
    def __init__(self, db):
        self._db = db
    def execute(self, sql, *args):
        if sql.startswith("INSERT OR REPLACE INTO sources"):
            os.kill(os.getpid(), signal.SIGKILL)
        return self._db.execute(sql, *args)
    def executemany(self, sql, rows):
        return self._db.executemany(sql, rows)

cache = LocalCache(sys.argv[1])
cache._db = Dying(cache._db)
upserts = [(f"k{i:05d}", '{"v": "%s"}' % ("x" * 1000)) for i in range(5000)]
cache.save("firestore:products", upserts, ["a"], synced=True, resume_token=b"tok2")
"""


def first_save(path: Path) -> None:
    with LocalCache(path) as cache:
        cache.save(
            SOURCE, [("a", '{"v": 1}'), ("b", '{"v": 1}')], synced=True, resume_token=b"tok1"
        )


def assert_first_save(path: Path) -> None:
    with LocalCache(path) as cache:
        state = cache.resume_state(SOURCE)
        assert state is not None and state.resume_token == b"tok1"
        assert cache.entries(SOURCE) == [("a", '{"v": 1}'), ("b", '{"v": 1}')]


def test_a_kill_inside_a_save_keeps_the_old_token_with_the_old_entries(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    first_save(path)
    done = subprocess.run([sys.executable, "-c", _DIE_IN_SAVE, str(path)], check=False)
    assert done.returncode == -signal.SIGKILL
    assert_first_save(path)


def test_an_error_inside_a_save_rolls_the_whole_snapshot_back(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    first_save(path)

    class Failing:
        def __init__(self, db: Any) -> None:
            self._db = db

        def execute(self, sql: str, *args: Any) -> Any:
            if sql.startswith("INSERT OR REPLACE INTO sources"):
                raise OSError("disk gone")
            return self._db.execute(sql, *args)

        def executemany(self, sql: str, rows: Any) -> Any:
            return self._db.executemany(sql, rows)

    with LocalCache(path) as cache:
        real = cache._db
        cache._db = Failing(real)  # type: ignore[assignment]
        with pytest.raises(OSError, match="disk gone"):
            cache.save(SOURCE, [("c", '{"v": 2}')], ["a"], synced=True, resume_token=b"tok2")
        cache._db = real
    assert_first_save(path)
