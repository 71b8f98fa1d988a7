"""The one Firestore value codec, property-tested over every value type.

Plain data -> protobuf -> plain data gives the value back; the client library's own conversion
of what :func:`to_client` makes is exactly :func:`encode_value` (the write path), and
:func:`from_client` of the client's decoding is exactly :func:`decode_value` (so ``get`` and a
listener read identical values); protobuf -> JSON -> protobuf loses nothing. The client library
is the real google-cloud-firestore, without I/O (its channel is never opened).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud.firestore_v1 import DELETE_FIELD, _helpers
from google.cloud.firestore_v1 import Increment as ClientIncrement
from google.cloud.firestore_v1.async_client import AsyncClient
from google.cloud.firestore_v1.types import document as document_types
from hypothesis import given, settings
from hypothesis import strategies as st

from firebase_sync import GeoPoint, Increment, Reference
from firebase_sync._wire import firestore_values as codec
from firebase_sync.errors import ValidationFailed

PROJECT = "demo-codec"
DATABASE = f"projects/{PROJECT}/databases/(default)"

_segment = st.text(
    st.characters(codec="utf-8", exclude_characters="/", exclude_categories=("Cs",)),
    min_size=1,
    max_size=8,
).filter(lambda s: s not in (".", "..") and not (s.startswith("__") and s.endswith("__")))
references = st.lists(st.tuples(_segment, _segment), min_size=1, max_size=3).map(
    lambda pairs: Reference("/".join(f"{c}/{d}" for c, d in pairs))
)
datetimes = st.datetimes(
    min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59, 999999)
).map(lambda moment: moment.replace(tzinfo=dt.UTC))
geopoints = st.builds(
    GeoPoint,
    st.floats(-90, 90, allow_nan=False),
    st.floats(-180, 180, allow_nan=False),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(),
    datetimes,
    geopoints,
    references,
)
# Arrays never directly hold arrays (Firestore refuses them); maps and arrays nest otherwise.
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(st.one_of(scalars, st.dictionaries(st.text(), inner, max_size=3)), max_size=4),
        st.dictionaries(st.text(), inner, max_size=4),
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def client() -> Iterator[AsyncClient]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")  # never connected to
        yield AsyncClient(project=PROJECT, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]


def _bytes(message: Any) -> bytes:
    raw = document_types.Value.pb(message) if hasattr(message, "_pb") else message
    data: bytes = raw.SerializeToString(deterministic=True)
    return data


@settings(max_examples=200, deadline=None)
@given(values)
def test_plain_round_trip(value: Any) -> None:
    encoded = codec.encode_value(value, database=DATABASE)
    wire = codec.ValuePb.FromString(encoded.SerializeToString())
    assert codec.decode_value(wire, database=DATABASE) == value


@settings(max_examples=200, deadline=None)
@given(values)
def test_write_path_is_the_codec(client: AsyncClient, value: Any) -> None:
    """What the client library sends for ``to_client(value)`` is ``encode_value(value)``."""
    sent = _helpers.encode_value(codec.to_client(value, client))
    assert _bytes(sent) == _bytes(codec.encode_value(value, database=DATABASE))


@settings(max_examples=200, deadline=None)
@given(values)
def test_get_path_reads_what_a_listener_reads(client: AsyncClient, value: Any) -> None:
    """``from_client`` of the client's decoding equals ``decode_value`` of the same bytes."""
    encoded = codec.encode_value(value, database=DATABASE)
    by_client = _helpers.decode_value(document_types.Value.wrap(encoded), client)
    assert codec.from_client(by_client) == codec.decode_value(encoded, database=DATABASE)


@settings(max_examples=200, deadline=None)
@given(values)
def test_json_round_trip(value: Any) -> None:
    encoded = codec.encode_value(value, database=DATABASE)
    text = json.dumps(codec.value_to_json(encoded, database=DATABASE))
    back = codec.value_from_json(json.loads(text), database=DATABASE)
    assert _bytes(back) == _bytes(encoded)


@given(st.sampled_from([math.nan, math.inf, -math.inf]))
def test_json_keeps_non_finite_doubles(number: float) -> None:
    encoded = codec.encode_value(number, database=DATABASE)
    back = codec.value_from_json(
        json.loads(json.dumps(codec.value_to_json(encoded, database=DATABASE))), database=DATABASE
    )
    assert _bytes(back) == _bytes(encoded)


def test_a_reference_into_another_database_is_refused_on_every_read_path(
    client: AsyncClient,
) -> None:
    foreign = codec.ValuePb(reference_value="projects/x/databases/(default)/documents/u/1")
    with pytest.raises(ValidationFailed) as caught:
        codec.decode_fields({"owner": foreign}, database=DATABASE, path="c/d")
    assert (caught.value.path, caught.value.field) == ("c/d", "owner")
    with pytest.raises(ValueError):  # the client library refuses it as well
        _helpers.decode_value(document_types.Value.wrap(foreign), client)
    # Export keeps it whole.
    exported = codec.value_to_json(foreign, database=DATABASE)
    assert exported == {"$reference": "/" + foreign.reference_value}
    assert _bytes(codec.value_from_json(exported, database=DATABASE)) == _bytes(foreign)


def test_transforms_pass_to_the_client(client: AsyncClient) -> None:
    assert codec.is_transform(Increment(2)) and codec.is_transform(DELETE_FIELD)
    assert not codec.is_transform(2)
    converted = codec.to_client({"n": Increment(2.5)}, client)["n"]
    assert isinstance(converted, ClientIncrement) and converted.value == 2.5
    assert codec.to_client(DELETE_FIELD, client) is DELETE_FIELD


def test_unstorable_values_are_refused() -> None:
    with pytest.raises(ValidationFailed):
        codec.encode_value(2**63, database=DATABASE)
    with pytest.raises(ValidationFailed):
        codec.encode_value([[1]], database=DATABASE)
    with pytest.raises(ValidationFailed):
        codec.encode_value(object(), database=DATABASE)
