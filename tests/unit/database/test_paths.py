"""Keys, paths and namespaces."""

from __future__ import annotations

import pytest

from firebase_sync_emulator.database.paths import (
    MAX_DEPTH,
    check_namespace,
    is_prefix,
    is_valid_key,
    join,
    parse_url_path,
    split_relative,
)
from firebase_sync_emulator.errors import Code, ServiceError


@pytest.mark.parametrize("key", ["a", "-Nx_1", "sp ace", "ünï✓", "0", "x" * 768, "é" * 384])
def test_valid_keys(key: str) -> None:
    assert is_valid_key(key)


@pytest.mark.parametrize(
    "key",
    ["", "a.b", "a$", "#", "[", "]", "a/b", "tab\t", "nul\x00", "del\x7f", "x" * 769, "é" * 385],
)
def test_invalid_keys(key: str) -> None:
    assert not is_valid_key(key)


def test_url_path_is_decoded_per_segment() -> None:
    assert parse_url_path("/sp%20ace/%C3%BC//x") == (("sp ace", "ü", "x"), False)
    assert parse_url_path("/") == ((), False)
    assert parse_url_path("/a/.priority") == (("a",), True)


def test_encoded_slash_stays_in_its_key_and_is_refused() -> None:
    with pytest.raises(ServiceError) as caught:
        parse_url_path("/a%2Fb")
    assert caught.value.code is Code.INVALID_ARGUMENT


def test_depth_limit() -> None:
    assert split_relative("/".join(["k"] * MAX_DEPTH))[0] == ("k",) * MAX_DEPTH
    with pytest.raises(ServiceError):
        split_relative("/".join(["k"] * (MAX_DEPTH + 1)))


def test_join_and_prefix() -> None:
    assert join(()) == "/"
    assert join(("a", "b")) == "/a/b"
    assert is_prefix((), ("a",))
    assert is_prefix(("a",), ("a",))
    assert not is_prefix(("a", "b"), ("a",))


@pytest.mark.parametrize("name", ["demo-test", "demo-firebase-sync-default-rtdb", "a_b", "X1"])
def test_valid_namespaces(name: str) -> None:
    assert check_namespace(name) == name


@pytest.mark.parametrize("name", ["", "../etc", ".hidden", "a/b", "a.b", "-lead", "x" * 129])
def test_invalid_namespaces(name: str) -> None:
    with pytest.raises(ServiceError):
        check_namespace(name)
