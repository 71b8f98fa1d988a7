"""firebase-tools' spellings against the session's emulators: same arguments, same output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from firebase_sync.cli import main
from firebase_sync.testing import EmulatorHosts


@pytest.fixture
def cli(emulators: EmulatorHosts, firestore_client: Any, rtdb_app: Any) -> Any:
    """Run a command (databases emptied first); returns (exit code, stdout, stderr)."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
        common = ["-P", emulators.project]
        if args[0].startswith("database:"):
            common += ["--database-url", emulators.database_url]
        result = runner.invoke(main, [*args, *common], input=input)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return run


def _view_url(emulators: EmulatorHosts, path: str) -> str:
    return f"http://{emulators.database_host}{path}.json?ns={emulators.database_namespace}"


def test_database_set_get_update_remove(cli: Any, emulators: EmulatorHosts) -> None:
    code, out, _ = cli("database:set", "/shop", "-d", '{"a": {"n": 1}, "b": {"n": 2}}', "-f")
    assert code == 0, out
    assert out.splitlines() == [
        "✔  Data persisted successfully",
        "",
        f"View data at: {_view_url(emulators, '/shop')}",
    ]
    code, out, _ = cli("database:get", "/shop")
    assert (code, out) == (0, '{"a":{"n":1},"b":{"n":2}}\n')
    code, out, _ = cli("database:update", "/shop/a", "-d", '{"m": 3}', "-f")
    assert code == 0 and out.startswith("✔  Data updated successfully\n")
    code, out, _ = cli("database:get", "/shop/a", "--pretty")
    assert json.loads(out) == {"m": 3, "n": 1} and "\n  " in out
    code, out, _ = cli("database:get", "/shop", "--order-by", "n", "--limit-to-first", "1")
    assert json.loads(out) == {"a": {"m": 3, "n": 1}}
    assert json.loads(cli("database:get", "/shop", "--shallow")[1]) == {"a": True, "b": True}
    code, out, _ = cli("database:remove", "/shop/a", "-f")
    assert (code, out) == (0, "✔  Data removed successfully\n")
    assert json.loads(cli("database:get", "/shop")[1]) == {"b": {"n": 2}}


def test_database_writes_read_stdin_or_a_file(cli: Any, tmp_path: Path) -> None:
    assert cli("database:set", "/x", "-f", input='{"from": "stdin"}')[0] == 0
    assert json.loads(cli("database:get", "/x")[1]) == {"from": "stdin"}
    data = tmp_path / "data.json"
    data.write_text('{"from": "file"}')
    assert cli("database:set", "/x", str(data), "-f")[0] == 0
    assert json.loads(cli("database:get", "/x")[1]) == {"from": "file"}
    output = tmp_path / "out.json"
    assert cli("database:get", "/x", "-o", str(output))[0] == 0
    assert json.loads(output.read_text()) == {"from": "file"}


def test_overwrite_without_force_is_refused_when_not_interactive(cli: Any) -> None:
    code, _, err = cli("database:set", "/x", "-d", "1")
    assert code == 1 and "--force" in err
    assert json.loads(cli("database:get", "/x")[1]) is None


def test_database_push(cli: Any, emulators: EmulatorHosts) -> None:
    code, out, _ = cli("database:push", "/list", "-d", '{"n": 1}')
    assert code == 0
    lines = out.splitlines()
    assert lines[:2] == ["✔  Data pushed successfully", ""]
    listed = json.loads(cli("database:get", "/list")[1])
    (key,) = listed
    assert listed[key] == {"n": 1}
    assert lines[2] == f"View data at: {_view_url(emulators, '/list/' + key)}"


def _seed(client: Any) -> None:
    for path in (
        "products/p1",
        "products/p1/reviews/r1",
        "products/p1/reviews/r1/votes/v1",
        "products/p2",
        "ghost/g1/deep/d1",  # under a document that does not exist
        "kept/k1",
    ):
        client.document(path).set({"at": path})


def _paths(client: Any) -> set[str]:
    found: set[str] = set()

    def walk(collection: Any) -> None:
        for ref in collection.list_documents():
            if ref.get().exists:
                found.add(ref.path)
            for sub in ref.collections():
                walk(sub)

    for collection in client.collections():
        walk(collection)
    return found


def test_firestore_delete_collection_recursive(cli: Any, firestore_client: Any) -> None:
    _seed(firestore_client)
    code, out, err = cli("firestore:delete", "products", "--recursive", "-f")
    assert code == 0, err
    assert _paths(firestore_client) == {"ghost/g1/deep/d1", "kept/k1"}
    assert cli("firestore:delete", "ghost", "-r", "-f")[0] == 0
    assert _paths(firestore_client) == {"kept/k1"}


def test_firestore_delete_document_with_and_without_descendants(
    cli: Any, firestore_client: Any
) -> None:
    _seed(firestore_client)
    assert cli("firestore:delete", "products/p1", "-f")[0] == 0
    assert "products/p1/reviews/r1" in _paths(firestore_client)
    assert "products/p1" not in _paths(firestore_client)
    assert cli("firestore:delete", "products/p1", "-r", "-f")[0] == 0
    assert _paths(firestore_client) == {"products/p2", "ghost/g1/deep/d1", "kept/k1"}


def test_firestore_delete_shallow_keeps_subcollections(cli: Any, firestore_client: Any) -> None:
    _seed(firestore_client)
    assert cli("firestore:delete", "products", "--shallow", "-f")[0] == 0
    assert _paths(firestore_client) == {
        "products/p1/reviews/r1",
        "products/p1/reviews/r1/votes/v1",
        "ghost/g1/deep/d1",
        "kept/k1",
    }


def test_firestore_delete_many_documents(cli: Any, firestore_client: Any) -> None:
    batch = firestore_client.batch()
    for i in range(1200):
        batch.set(firestore_client.document(f"bulk/d{i:04}"), {"i": i})
        if i % 500 == 499:
            batch.commit()
            batch = firestore_client.batch()
    batch.commit()
    assert cli("firestore:delete", "bulk", "-r", "-f")[0] == 0
    assert list(firestore_client.collection("bulk").limit(1).stream()) == []


def test_query_operator_spellings_and_start_at(cli: Any, firestore_client: Any) -> None:
    for key, tags, price in (("a", ["x"], 5), ("b", ["y"], 1), ("c", ["x", "y"], 9)):
        firestore_client.document(f"items/{key}").set({"tags": tags, "price": price})
    for spelling in ("array-contains", "array_contains"):
        code, out, _ = cli("query", "firestore:items", "--where", "tags", spelling, "x")
        assert code == 0
        assert sorted(doc["id"] for doc in json.loads(out)) == ["a", "c"]
    code, out, _ = cli("query", "firestore:items", "--where", "tags", "array-contains-any", '["y"]')
    assert sorted(doc["id"] for doc in json.loads(out)) == ["b", "c"]
    code, out, _ = cli("query", "firestore:items", "--order-by", "price", "--start-at", "5")
    assert [doc["id"] for doc in json.loads(out)] == ["a", "c"]
    code, out, _ = cli("query", "firestore:items", "--order-by", "price", "--end-at", "5")
    assert [doc["id"] for doc in json.loads(out)] == ["b", "a"]
