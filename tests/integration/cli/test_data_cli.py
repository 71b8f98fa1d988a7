"""`firebase-sync get|set|update|delete|query` against the session's emulators."""

from __future__ import annotations

import json
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
        result = runner.invoke(main, [*args, "--project", emulators.project], input=input)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return run


def test_firestore_document_round_trip(cli: Any, firestore_client: Any) -> None:
    assert cli("set", "firestore:products/p1", '{"name": "Pen", "price": 1.5}')[0] == 0
    assert cli("update", "firestore:products/p1", '{"price": 2, "stock.count": 3}')[0] == 0
    code, out, _ = cli("get", "firestore:products/p1")
    assert code == 0
    assert json.loads(out) == {"id": "p1", "name": "Pen", "price": 2, "stock": {"count": 3}}
    assert firestore_client.document("products/p1").get().to_dict()["price"] == 2
    assert cli("set", "firestore:products/p1", '{"name": "Pencil"}', "--merge")[0] == 0
    assert json.loads(cli("get", "firestore:products/p1")[1])["price"] == 2
    assert cli("delete", "firestore:products/p1")[0] == 0
    assert json.loads(cli("get", "firestore:products/p1")[1]) is None


def test_firestore_set_reads_stdin_and_nested_paths(cli: Any, firestore_client: Any) -> None:
    code, out, err = cli("set", "firestore:shops/s1/items/i1", "-", input='{"n": 1}')
    assert code == 0, out + err
    assert firestore_client.document("shops/s1/items/i1").get().to_dict() == {"n": 1}


def test_firestore_query_filters_order_limit_and_aggregates(cli: Any) -> None:
    for key, price in (("a", 5), ("b", 1), ("c", 9), ("d", 7)):
        assert cli("set", f"firestore:products/{key}", json.dumps({"price": price}))[0] == 0
    code, out, _ = cli(
        "query",
        "firestore:products",
        "--where",
        "price",
        ">=",
        "5",
        "--order-by",
        "price:desc",
        "--limit",
        "2",
    )
    assert code == 0
    assert [doc["id"] for doc in json.loads(out)] == ["c", "d"]
    assert json.loads(cli("query", "firestore:products", "--count")[1]) == 4
    assert json.loads(cli("query", "firestore:products", "--sum", "price")[1]) == 22
    lines = cli("query", "firestore:products", "--order-by", "price", "--jsonl")[1].splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["b", "a", "d", "c"]


def test_rtdb_commands(cli: Any, rtdb_app: Any) -> None:
    from firebase_admin import db

    assert cli("set", "rtdb:/products", '{"p1": {"price": 3}, "p2": {"price": 1}}')[0] == 0
    assert cli("update", "rtdb:/products", '{"p3/price": 2}')[0] == 0
    assert db.reference("/products/p3", app=rtdb_app).get() == {"price": 2}
    code, out, _ = cli("query", "rtdb:/products", "--order-by", "price", "--limit", "2")
    assert code == 0
    assert list(json.loads(out)) == ["p2", "p3"]
    code, out, _ = cli("query", "rtdb:/products", "--order-by", "price", "--equal-to", "3")
    assert json.loads(out) == {"p1": {"price": 3}}
    assert cli("delete", "rtdb:/products/p1")[0] == 0
    assert json.loads(cli("get", "rtdb:/products/p1")[1]) is None
    assert json.loads(cli("get", "rtdb:/products")[1]) == {"p2": {"price": 1}, "p3": {"price": 2}}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("get", "mongo:/x"), "expected firestore:PATH or rtdb:/PATH"),
        (("set", "firestore:products", "{}"), "is not a document"),
        (("set", "firestore:products/p1", "{bad"), "not valid JSON"),
        (("update", "firestore:products/missing", '{"a": 1}'), "NotFound"),
        (("set", "rtdb:/bad.key", "1"), "InvalidArgument"),
        (("query", "firestore:products", "--where", "a", "~", "1"), "unknown operator"),
    ],
)
def test_bad_input_is_a_clear_error(cli: Any, args: tuple[str, ...], message: str) -> None:
    code, out, err = cli(*args)
    assert code != 0
    assert message in out + err
