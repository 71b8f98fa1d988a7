"""The official export format's framing and entity codec, without any emulator."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.errors import ServiceError
from emulator.firestore import datastore_format as fmt
from emulator.firestore.values import Document

BLOCK = fmt.BLOCK_SIZE


@given(st.lists(st.binary(max_size=3 * BLOCK), max_size=8))
@settings(max_examples=60, deadline=None)
def test_records_round_trip_across_blocks(payloads: list[bytes]) -> None:
    data = b"".join(fmt.encode_records(payloads))
    assert list(fmt.decode_records(data)) == payloads


def test_a_header_never_straddles_a_block() -> None:
    # a first record leaving 6 bytes in the block: the next header starts in the next block
    first = b"a" * (BLOCK - fmt.HEADER_SIZE - 6)
    data = b"".join(fmt.encode_records([first, b"b"]))
    assert data[BLOCK - 6 : BLOCK] == b"\0" * 6
    assert data[BLOCK + fmt.HEADER_SIZE :] == b"b"
    assert list(fmt.decode_records(data)) == [first, b"b"]


def test_a_corrupt_record_is_refused() -> None:
    data = bytearray(b"".join(fmt.encode_records([b"payload"])))
    data[-1] ^= 1
    with pytest.raises(ServiceError, match="corrupt export record"):
        list(fmt.decode_records(bytes(data)))


def test_document_round_trip_keeps_every_value_type() -> None:
    doc = Document()
    doc.name = "projects/demo-p/databases/second/documents/a/1/b/x y"
    fields = doc.fields
    fields["int"].integer_value = -(2**63)
    fields["nan"].double_value = math.nan
    fields["s"].string_value = "é✓"
    fields["bytes"].bytes_value = b"\x00\xff"
    fields["null"].null_value = 0
    fields["t"].timestamp_value.seconds = -1
    fields["t"].timestamp_value.nanos = 999_999_000
    fields["geo"].geo_point_value.latitude = -90.0
    fields["ref"].reference_value = "projects/demo-p/databases/second/documents/c/d"
    fields["empty"].array_value.SetInParent()
    inner = fields["arr"].array_value.values.add()
    inner.map_value.fields["deep"].array_value.values.add().boolean_value = False
    fields["arr"].array_value.values.add().null_value = 0
    fields["map"].map_value.SetInParent()
    back = fmt.decode_document(fmt.encode_document(doc))
    assert back.name == doc.name
    assert math.isnan(back.fields["nan"].double_value)
    del doc.fields["nan"], back.fields["nan"]
    assert back == doc
