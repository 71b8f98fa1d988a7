"""What the SDK cannot send, over plain HTTP: priorities, export, ETags, rules, errors."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from firebase_sync.testing import session_project

NS = f"{session_project()}-default-rtdb"  # the plugin's, per xdist worker


@pytest.fixture(autouse=True)
def _clean(rtdb_app: Any) -> None:
    """``rtdb_app`` empties the namespace before each test."""


def test_write_responses(raw: Any) -> None:
    put = raw.request("PUT", "/a.json", {"x": [1, 2], "e": {}})
    assert (put.status, put.json()) == (200, {"x": [1, 2]})
    assert put.headers["Content-Type"] == "application/json; charset=utf-8"
    patch = raw.request("PATCH", "/a.json", {"y": 1, "x/0": None})
    assert (patch.status, patch.json()) == (200, {"y": 1, "x/0": None})
    post = raw.request("POST", "/list.json", "item")
    assert post.status == 200 and list(post.json()) == ["name"] and len(post.json()["name"]) == 20
    delete = raw.request("DELETE", "/a.json")
    assert (delete.status, delete.json()) == (200, None)
    assert raw.request("GET", "/a.json").json() is None


def test_print_silent_and_pretty(raw: Any) -> None:
    silent = raw.request("PUT", "/a.json", {"b": 1}, query="print=silent")
    assert (silent.status, silent.body) == (204, b"")
    assert raw.request("GET", "/a.json", query="print=silent").status == 204
    pretty = raw.request("GET", "/a.json", query="print=pretty")
    assert json.loads(pretty.body) == {"b": 1} and b"\n" in pretty.body


def test_priorities_and_format_export(raw: Any) -> None:
    data = {
        "a": {".value": 1, ".priority": 3},
        "b": {"x": 1, ".priority": "p"},
        "c": {".value": "s", ".priority": 1},
        ".priority": 9,
    }
    raw.request("PUT", "/p.json", data)
    assert raw.request("GET", "/p.json").json() == {"a": 1, "b": {"x": 1}, "c": "s"}
    assert raw.request("GET", "/p.json", query="format=export").json() == data
    assert raw.request("GET", "/p/b/.priority.json").json() == "p"
    assert raw.request("PUT", "/p/b/.priority.json", 5).json() == 5
    assert raw.request("GET", "/p/b.json", query="format=export").json() == {"x": 1, ".priority": 5}
    ordered = raw.request("GET", "/p.json", query="orderBy=%22$priority%22")
    assert list(json.loads(ordered.body)) == ["c", "a", "b"]
    limited = raw.request("GET", "/p.json", query="orderBy=%22$priority%22&startAt=4")
    assert limited.json() == {"b": {"x": 1}}
    # an update keeps the parent's priority; a set replaces it
    raw.request("PATCH", "/p/b.json", {"y": 2})
    assert raw.request("GET", "/p/b/.priority.json").json() == 5
    raw.request("PUT", "/p/b.json", {"y": 2})
    assert raw.request("GET", "/p/b/.priority.json").json() is None


def test_server_order_of_key_queries(raw: Any) -> None:
    raw.request("PUT", "/k.json", {key: 1 for key in ["b", "10", "9", "-1", "a", "2147483648"]})
    result = raw.request("GET", "/k.json", query='orderBy="$key"&limitToFirst=4')
    assert list(json.loads(result.body)) == ["-1", "9", "10", "2147483648"]
    nothing = raw.request("GET", "/k.json", query='orderBy="$key"&equalTo="zzz"')
    assert nothing.json() == {}


def test_shallow_is_lenient_with_limits(raw: Any) -> None:
    raw.request("PUT", "/s.json", {"a": {"x": 1}, "b": 2, "c": 3})
    got = raw.request("GET", "/s.json", query="shallow=true&limitToFirst=1")
    assert got.json() == {"a": True}


def test_method_override(raw: Any) -> None:
    override = {"X-HTTP-Method-Override": "PUT"}
    assert raw.request("POST", "/o.json", {"a": 1}, headers=override).json() == {"a": 1}
    override["X-HTTP-Method-Override"] = "PATCH"
    raw.request("POST", "/o.json", {"b": 2}, headers=override)
    assert raw.request("GET", "/o.json").json() == {"a": 1, "b": 2}
    override["X-HTTP-Method-Override"] = "DELETE"
    raw.request("POST", "/o.json", None, data=b"", headers=override)
    assert raw.request("GET", "/o.json").json() is None
    override["X-HTTP-Method-Override"] = "BREW"
    assert raw.request("POST", "/o.json", 1, headers=override).status == 400


def test_etags(raw: Any) -> None:
    raw.request("PUT", "/e.json", {"v": 1})
    first = raw.request("GET", "/e.json", headers={"X-Firebase-ETag": "true"})
    etag = first.headers["ETag"]
    unchanged = raw.request("GET", "/e.json", headers={"if-none-match": etag})
    assert (unchanged.status, unchanged.headers["ETag"]) == (304, etag)
    stale = raw.request("PUT", "/e.json", {"v": 2}, headers={"if-match": "nope"})
    assert (stale.status, stale.headers["ETag"], stale.json()) == (412, etag, {"v": 1})
    fresh = raw.request("PUT", "/e.json", {"v": 2}, headers={"if-match": etag})
    assert fresh.status == 200 and fresh.headers["ETag"] != etag
    changed = raw.request("GET", "/e.json", headers={"if-none-match": etag})
    assert (changed.status, changed.json()) == (200, {"v": 2})
    assert changed.headers["ETag"] == fresh.headers["ETag"]
    refused = raw.request("DELETE", "/e.json", headers={"if-match": etag})
    assert refused.status == 412
    deleted = raw.request("DELETE", "/e.json", headers={"if-match": fresh.headers["ETag"]})
    assert deleted.status == 200
    assert raw.request("GET", "/e.json").json() is None


def test_overlapping_and_non_object_patch(raw: Any) -> None:
    raw.request("PUT", "/a.json", {"b": {"c": 1}})
    for body in ({"b": 1, "b/c": 2}, [1, 2], "text", {"ok": 1, "b/c/": 2, "b/c": 3}):
        response = raw.request("PATCH", "/a.json", body)
        assert response.status == 400 and "error" in response.json()
    assert raw.request("GET", "/a.json").json() == {"b": {"c": 1}}


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"",
        b"NaN",
        b"{'a': 1}",
        b"\xff",
        b'{"a": 1} trailing',
        b'{"a.b": 1}',
        b'{"t": {".sv": "never"}}',
        b'{"s": "\\ud800"}',  # lone surrogates, as a value and in a key
        b'{"\\udc00x": 1}',
        b'{"p": {".priority": 1e400, "a": 1}}',  # non-finite priority
        b'{"n": {".sv": {"increment": 1e400}}}',
        b'{"n": ' + b"9" * 5000 + b"}",  # no double holds it
        b'{"v": ' + b'{".value":' * 3000 + b"1" + b"}" * 3001,  # wrappers add no depth
    ],
)
def test_bad_bodies_change_nothing(raw: Any, body: bytes) -> None:
    raw.request("PUT", "/keep.json", {"x": 1})
    for method in ("PUT", "PATCH", "POST"):
        response = raw.request(method, "/keep.json", data=body)
        assert response.status == 400, (method, body)
        assert isinstance(response.json()["error"], str)
    assert raw.request("GET", "/.json").json() == {"keep": {"x": 1}}


@pytest.mark.parametrize(
    "query",
    [
        "orderBy=$key",
        'orderBy="$key"&startAt=5',
        'orderBy="a"&limitToFirst=abc',
        'orderBy="a"&limitToFirst=1&limitToLast=1',
        'orderBy="a"&equalTo="x',
        "startAt=1",
        "shallow=maybe",
        "print=loud",
        "format=weird",
        "writeSizeLimit=huge",
        'orderBy="a"&limitToFirst=' + "9" * 5000,
        'orderBy="a"&limitToLast=2147483648',
        "orderBy=" + "[" * 3000 + "]" * 3000,
        'orderBy="a"&equalTo=' + "[" * 3000 + "]" * 3000,
    ],
)
def test_bad_query_parameters(raw: Any, query: str) -> None:
    response = raw.request("GET", "/x.json", query=query)
    assert response.status == 400 and "error" in response.json()


def test_bad_namespace(raw: Any) -> None:
    raw.ns = "../../etc"
    response = raw.request("PUT", "/x.json", 1)
    assert response.status == 400 and "error" in response.json()


@pytest.mark.parametrize("limit", ["tiny", "small", "medium", "large", "unlimited"])
def test_write_size_limits_are_accepted(raw: Any, limit: str) -> None:
    assert raw.request("PUT", "/w.json", 1, query=f"writeSizeLimit={limit}").status == 200


@pytest.mark.parametrize(
    "path",
    ["/a%2Fb.json", "/a$b.json", "/a%23b.json", "/a/%5B0%5D.json", "/a%0Ab.json", "/%0A/x.json"],
)
def test_invalid_keys_in_paths(raw: Any, path: str) -> None:
    """Every path reaches the handler (a decoded newline once missed the route: text 404)."""
    for response in (raw.request("PUT", path, 1), raw.request("GET", path)):
        assert response.status == 400
        assert isinstance(response.json()["error"], str)


def test_priorities_must_be_finite(raw: Any) -> None:
    raw.request("PUT", "/p.json", {"x": 1})
    for method, path, body in [
        ("PUT", "/p/.priority.json", b"1e400"),
        ("PUT", "/p/.priority.json", b"-" + b"9" * 400),
        ("PATCH", "/.json", b'{"p/.priority": -1e400}'),
        ("PUT", "/q.json", b'{".priority": 1e999, "x": 1}'),
    ]:
        response = raw.request(method, path, data=body)
        assert response.status == 400, (method, path, body)
    exported = raw.request("GET", "/.json", query="format=export")
    assert exported.body == b'{"p":{"x":1}}'


def test_numbers_are_stored_as_doubles(raw: Any) -> None:
    """Integers beyond 2**53 round to the nearest double, as Firebase (JavaScript) keeps them."""
    raw.request("PUT", "/n.json", data=b"[9007199254740993, 18446744073709551615, 5]")
    assert raw.request("GET", "/n.json").body == b"[9007199254740992,18446744073709551616,5]"
    raw.request("PUT", "/n/2.json", {".sv": {"increment": 2**53}})
    assert raw.request("GET", "/n/2.json").json() == 2**53 + 4  # 2**53 + 5 rounded to even
    near_max = str(int(1.7e308)).encode()
    assert raw.request("PUT", "/n/0.json", data=near_max).status == 200
    increment = b'{".sv": {"increment": ' + near_max + b"}}"
    assert raw.request("PUT", "/n/0.json", data=increment).status == 400
    assert raw.request("GET", "/n/0.json").body == near_max


def test_non_ascii_method_override_is_a_json_error(raw: Any) -> None:
    """aiohttp decodes header bytes with surrogateescape; the echo must still encode."""
    response = raw.request("POST", "/m.json", 1, headers={"X-HTTP-Method-Override": "\xff\xfe"})
    assert response.status == 400
    assert "Unsupported method" in response.json()["error"]


def test_oversize_string_is_refused(raw: Any) -> None:
    response = raw.request("PUT", "/big.json", "x" * (10 * 1024 * 1024 + 1))
    assert response.status == 400
    assert raw.request("GET", "/big.json").json() is None


def test_paths_must_end_in_json(raw: Any) -> None:
    response = raw.request("GET", "/a")
    assert response.status == 404 and "error" in response.json()


def test_reset_by_put_null_and_delete_at_root(raw: Any) -> None:
    raw.request("PUT", "/.json", {"a": 1})
    raw.request("PUT", "/.json", data=b"null")
    assert raw.request("GET", "/.json").json() is None
    raw.request("PUT", "/.json", {"a": 1})
    raw.request("DELETE", "/.json")
    assert raw.request("GET", "/.json").json() is None


def test_rules_are_stored_as_given(raw: Any) -> None:
    text = '{\n  // owner only\n  "rules": {".read": "auth != null", ".write": false}\n}\n'
    put = raw.request("PUT", "/.settings/rules.json", data=text.encode())
    assert put.status == 200
    assert raw.request("GET", "/.settings/rules.json").body.decode() == text
    strict = raw.request("GET", "/.settings/rules.json", query="format=strict")
    assert strict.json() == {"rules": {".read": "auth != null", ".write": False}}
    assert raw.request("PUT", "/.settings/rules.json", data=b"{not json").status == 400
    assert raw.request("GET", "/.settings/rules.json").body.decode() == text
    raw.request("PUT", "/.settings/rules.json", data=b'{"rules": {".read": true, ".write": true}}')


def test_inspect_databases(raw: Any) -> None:
    raw.ns = "demo-inspected"
    raw.request("PUT", "/x.json", 1)
    names = [entry["name"] for entry in raw.request("GET", "/.inspect/databases.json").json()]
    assert {"demo-inspected", NS} <= set(names)
    raw.request("DELETE", "/.json")


def test_namespace_from_host_header(database_emulator_host: str, raw: Any) -> None:
    port = int(database_emulator_host.rsplit(":", 1)[1])
    request = (
        "PUT /hosted.json HTTP/1.1\r\nHost: demo-hosted.localhost\r\nContent-Length: 1\r\n"
        "Connection: close\r\n\r\n1"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request.encode())
        assert sock.recv(100).startswith(b"HTTP/1.1 200")
    raw.ns = "demo-hosted"
    assert raw.request("GET", "/hosted.json").json() == 1
    raw.request("DELETE", "/.json")


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\x01\x02garbage\r\n\r\n",
        b"GET /x.json HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n",
        b"BREW /x.json HTTP/1.1\r\nHost: a\r\n\r\n",
        b"PUT /x.json HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n{",  # then hang up
        b"GET /%ZZ%.json?ns=%%%&orderBy=%E0%A4 HTTP/1.1\r\nHost: a\r\n\r\n",
    ],
)
def test_malformed_requests_keep_the_server_up(
    database_emulator_host: str, raw: Any, garbage: bytes
) -> None:
    port = int(database_emulator_host.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(garbage)
        sock.shutdown(socket.SHUT_WR)
        reply = sock.recv(200)
    assert not reply.startswith(b"HTTP/1.1 5"), reply
    assert raw.request("PUT", "/alive.json", True).status == 200
