"""A raw gRPC Firestore caller that can act as any user, for rules tests against any emulator.

The official client libraries always send ``Bearer owner`` to an emulator; rules need other
callers, so these tests build the protobuf requests themselves and choose the token per call.
Both our emulator and the official one speak this gRPC surface.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.cloud.firestore_v1.types import common, document, firestore, query, write

OWNER = "owner"


def user_token(uid: str, **claims: Any) -> str:
    """An unsigned JWT (``alg: none``) as ``@firebase/rules-unit-testing`` builds them."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    payload = {
        "iss": "https://securetoken.google.com/demo-rules",
        "aud": "demo-rules",
        "iat": 0,
        "exp": 4_000_000_000,
        "auth_time": 0,
        "sub": uid,
        "user_id": uid,
        "firebase": {"sign_in_provider": "custom", "identities": {}},
        **claims,
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def encode(value: Any) -> document.Value:
    """A Python value as a Firestore ``Value`` (the types the corpus uses)."""
    if value is None:
        return document.Value(null_value=0)
    if isinstance(value, bool):
        return document.Value(boolean_value=value)
    if isinstance(value, int):
        return document.Value(integer_value=value)
    if isinstance(value, float):
        return document.Value(double_value=value)
    if isinstance(value, str):
        return document.Value(string_value=value)
    if isinstance(value, bytes):
        return document.Value(bytes_value=value)
    if isinstance(value, dt.datetime):
        return document.Value(timestamp_value=value)
    if isinstance(value, Ref):
        return document.Value(reference_value=value.name)
    if isinstance(value, Geo):
        from google.type import latlng_pb2

        return document.Value(geo_point_value=latlng_pb2.LatLng(latitude=value.lat,
                                                                 longitude=value.lng))
    if isinstance(value, list):
        return document.Value(array_value=document.ArrayValue(values=[encode(v) for v in value]))
    if isinstance(value, dict):
        return document.Value(
            map_value=document.MapValue(fields={k: encode(v) for k, v in value.items()})
        )
    raise TypeError(f"cannot encode {value!r}")


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class Geo:
    lat: float
    lng: float


class RawFirestore:
    """Unary and server-streaming calls with an explicit ``authorization`` token."""

    def __init__(self, host: str, project: str, database: str = "(default)") -> None:
        self.host = host
        self.channel = grpc.insecure_channel(host)
        self.project = project
        self.root = f"projects/{project}/databases/{database}"
        self.documents = f"{self.root}/documents"

    def close(self) -> None:
        self.channel.close()

    def _unary(self, method: str, request: Any, response: Any, token: str | None) -> Any:
        call = self.channel.unary_unary(
            f"/google.firestore.v1.Firestore/{method}",
            request_serializer=lambda m: type(m).serialize(m),
            response_deserializer=response.deserialize,
        )
        metadata = [("authorization", f"Bearer {token}")] if token else []
        return call(request, metadata=metadata, timeout=30)

    def _stream(self, method: str, request: Any, response: Any, token: str | None) -> list[Any]:
        call = self.channel.unary_stream(
            f"/google.firestore.v1.Firestore/{method}",
            request_serializer=lambda m: type(m).serialize(m),
            response_deserializer=response.deserialize,
        )
        metadata = [("authorization", f"Bearer {token}")] if token else []
        return list(call(request, metadata=metadata, timeout=30))

    def name(self, path: str) -> str:
        return f"{self.documents}/{path.strip('/')}"

    # ------------------------------------------------------------------------------ calls
    def get(self, path: str, token: str | None) -> Any:
        request = firestore.GetDocumentRequest(name=self.name(path))
        return self._unary("GetDocument", request, document.Document, token)

    def commit(self, writes: list[write.Write], token: str | None) -> Any:
        request = firestore.CommitRequest(database=self.root, writes=writes)
        return self._unary("Commit", request, firestore.CommitResponse, token)

    def set(self, path: str, data: dict[str, Any], token: str | None,
            exists: bool | None = None, mask: list[str] | None = None) -> Any:
        return self.commit([self.set_write(path, data, exists, mask)], token)

    def set_write(self, path: str, data: dict[str, Any], exists: bool | None = None,
                  mask: list[str] | None = None,
                  server_time: Sequence[str] = ()) -> write.Write:
        w = write.Write(update=document.Document(
            name=self.name(path), fields={k: encode(v) for k, v in data.items()}))
        for field_path in server_time:
            w.update_transforms.append(write.DocumentTransform.FieldTransform(
                field_path=field_path,
                set_to_server_value=write.DocumentTransform.FieldTransform.ServerValue.REQUEST_TIME,
            ))
        if exists is not None:
            w.current_document = common.Precondition(exists=exists)
        if mask is not None:
            w.update_mask = common.DocumentMask(field_paths=mask)
        return w

    def delete_write(self, path: str) -> write.Write:
        return write.Write(delete=self.name(path))

    def delete(self, path: str, token: str | None) -> Any:
        return self.commit([self.delete_write(path)], token)

    def query(self, collection: str, token: str | None, *, parent: str = "",
              filters: Sequence[tuple[str, str, Any]] = (), limit: int | None = None,
              all_descendants: bool = False, order_by: Sequence[str] = ()) -> list[Any]:
        ops = {"==": 5, "<": 1, "<=": 2, ">": 3, ">=": 4, "!=": 6, "in": 8,
               "array-contains": 7}
        field_filters = [
            query.StructuredQuery.Filter(field_filter=query.StructuredQuery.FieldFilter(
                field=query.StructuredQuery.FieldReference(field_path=f), op=ops[o],
                value=encode(v)))
            for f, o, v in filters
        ]
        sq = query.StructuredQuery(from_=[query.StructuredQuery.CollectionSelector(
            collection_id=collection, all_descendants=all_descendants)])
        if len(field_filters) == 1:
            sq.where = field_filters[0]
        elif field_filters:
            sq.where = query.StructuredQuery.Filter(composite_filter=(
                query.StructuredQuery.CompositeFilter(op=1, filters=field_filters)))
        for f in order_by:
            sq.order_by.append(query.StructuredQuery.Order(
                field=query.StructuredQuery.FieldReference(field_path=f), direction=1))
        if limit is not None:
            sq.limit = limit
        request = firestore.RunQueryRequest(
            parent=self.name(parent) if parent else self.documents, structured_query=sq)
        return self._stream("RunQuery", request, firestore.RunQueryResponse, token)


def outcome(fn: Any) -> str:
    """``"allow"`` when the call succeeds (or fails for another reason than rules), ``"deny"``
    on PERMISSION_DENIED; other statuses are returned by name."""
    try:
        fn()
    except grpc.RpcError as exc:
        code = exc.code()
        if code == grpc.StatusCode.PERMISSION_DENIED:
            return "deny"
        if code == grpc.StatusCode.NOT_FOUND:
            return "allow"
        return str(code.name)
    return "allow"
