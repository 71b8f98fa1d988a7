"""``firebase-sync pending list|retry|drop`` on a cache file."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from firebase_sync.cli import main
from firebase_sync.offline import LocalCache


def make_cache(path: Path) -> list[str]:
    with LocalCache(path) as cache:
        ids = [cache.enqueue("rtdb:/p", f"k{i}", "delete", None, None).write_id for i in range(3)]
        cache.fail(ids[1], "conflict: the server value changed")
    return ids


def test_list_retry_and_drop(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    ids = make_cache(path)
    runner = CliRunner()
    listed = runner.invoke(main, ["pending", "list", "--cache", str(path)])
    assert listed.exit_code == 0, listed.output
    assert "2 pending, 1 failed" in listed.output and "conflict" in listed.output
    as_json = runner.invoke(main, ["pending", "list", "--cache", str(path), "--json"])
    records = [json.loads(line) for line in as_json.output.splitlines()]
    assert [r["write_id"] for r in records] == ids
    assert [r["state"] for r in records] == ["pending", "failed", "pending"]

    retried = runner.invoke(main, ["pending", "retry", "--cache", str(path)])
    assert "1 write queued again" in retried.output
    dropped = runner.invoke(main, ["pending", "drop", "--cache", str(path), ids[0]])
    assert "1 write dropped" in dropped.output
    with LocalCache(path) as cache:
        assert [w.write_id for w in cache.pending()] == ids[1:]
    refused = runner.invoke(main, ["pending", "drop", "--cache", str(path), "--all"], input="n\n")
    assert refused.exit_code != 0
    everything = runner.invoke(main, ["pending", "drop", "--cache", str(path), "--all", "--yes"])
    assert "2 writes dropped" in everything.output


def test_a_bad_cache_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    path.write_bytes(b"garbage" * 10)
    result = CliRunner().invoke(main, ["pending", "list", "--cache", str(path)])
    assert result.exit_code == 1 and "not a SQLite database" in result.output
