"""Firebase sort orders."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from firebase_sync_emulator.database.ordering import key_order, priority_rank, value_rank


def test_name_compare() -> None:
    keys = ["b", "a", "10", "9", "-1", "2147483648", "2147483647", "-2147483648", "01", "1", "A"]
    assert sorted(keys, key=key_order) == [
        "-2147483648",
        "-1",
        "1",
        "01",
        "9",
        "10",
        "2147483647",
        "2147483648",
        "A",
        "a",
        "b",
    ]


def test_strings_compare_as_utf16() -> None:
    # U+FF5E sorts after an astral character in code points, before it in UTF-16 units.
    assert key_order("\U0001f600") < key_order("\uff5e")
    assert value_rank("\U0001f600") < value_rank("\uff5e")


def test_value_type_order() -> None:
    values = ["s", {"o": 1}, 3, True, None, False, -1.5, ""]
    assert sorted(values, key=value_rank) == [None, False, True, -1.5, 3, "", "s", {"o": 1}]


def test_priority_order() -> None:
    assert sorted(["b", 2, None, "a", 1], key=priority_rank) == [None, 1, 2, "a", "b"]


@given(st.integers(-(2**31), 2**31 - 1), st.text(alphabet="abcXYZ_-", min_size=1))
def test_int32_keys_precede_other_keys(number: int, word: str) -> None:
    assert key_order(str(number)) < key_order(word)


@given(st.integers(-(2**31), 2**31 - 1), st.integers(-(2**31), 2**31 - 1))
def test_int32_keys_sort_numerically(a: int, b: int) -> None:
    assert (key_order(str(a)) < key_order(str(b))) == (a < b)
