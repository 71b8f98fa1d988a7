"""Hand-framed response bytes for the messages a big result repeats once per document.

A stored Document is serialized once and wrapped by concatenating protobuf fields, instead of
copying it into a new response message and serializing that: the per-document cost of a
100,000-document snapshot is then one C-level ``SerializeToString`` plus a few byte joins.
Field numbers come from google/firestore/v1/firestore.proto and write.proto.
"""

from __future__ import annotations

from typing import Any

# ListenResponse.document_change, DocumentChange.document / target_ids (packed int32).
_LISTEN_DOCUMENT_CHANGE = 3
_CHANGE_DOCUMENT = 1
_CHANGE_TARGET_IDS = 5
# RunQueryResponse.document / transaction / read_time.
_QUERY_DOCUMENT = 1
_QUERY_TRANSACTION = 2
_QUERY_READ_TIME = 3


def varint(n: int) -> bytes:
    """Protobuf base-128 varint of a non-negative int (negative int32s use 10 bytes)."""
    if 0 <= n < 0x4000:  # tags and most lengths: one or two bytes, no loop
        return bytes((n,)) if n < 0x80 else bytes(((n & 0x7F) | 0x80, n >> 7))
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def delimited(field: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): tag, length, payload."""
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def target_ids_field(ids: list[int]) -> bytes:
    """``DocumentChange.target_ids`` as its packed encoding."""
    return delimited(_CHANGE_TARGET_IDS, b"".join(varint(i) for i in ids))


def listen_document_change(document: bytes, target_ids: bytes) -> bytes:
    """A serialized ``ListenResponse{document_change{document, target_ids}}``.

    ``document`` is a serialized Document; ``target_ids`` comes from ``target_ids_field``.
    """
    return framed_document_change(delimited(_CHANGE_DOCUMENT, document), target_ids)


def change_document_field(document: bytes) -> bytes:
    """``DocumentChange.document`` framed, to cache and reuse for every target."""
    return delimited(_CHANGE_DOCUMENT, document)


def framed_document_change(document_field: bytes, target_ids: bytes) -> bytes:
    """``listen_document_change`` from a ``change_document_field`` result."""
    return delimited(_LISTEN_DOCUMENT_CHANGE, document_field + target_ids)


def run_query_response(document: bytes, read_time: bytes, transaction: bytes = b"") -> bytes:
    """A serialized ``RunQueryResponse``; ``read_time`` is a serialized Timestamp (or b"")."""
    out = delimited(_QUERY_DOCUMENT, document) if document else b""
    if transaction:
        out += delimited(_QUERY_TRANSACTION, transaction)
    if read_time:
        out += delimited(_QUERY_READ_TIME, read_time)
    return out


def serialized(message: Any) -> bytes:
    """``message.SerializeToString()``, typed."""
    return bytes(message.SerializeToString())
