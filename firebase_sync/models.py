"""Typed documents: the pydantic base every stored model derives from, two value types, and
:class:`Increment`, the one server-side transform the kit offers.

A :class:`Document` is what both databases store under one key: a Firestore document in a
collection, or an RTDB child under a path. Its ``id`` is the key and never part of the stored
data. How each Python type is stored is decided by the codecs in ``firebase_sync._wire``:

=====================  ==========================  ======================================
Python                 Firestore                   Realtime Database (JSON)
=====================  ==========================  ======================================
``None``               null                        absent (RTDB cannot store null)
``bool/int/float/str`` boolean/integer/double/str  JSON scalar (NaN/inf refused)
``datetime``           timestamp, microseconds     ``"2024-05-01T12:00:00.000001Z"``
                       (naive = UTC; read as UTC)  (fixed width, UTC, so it sorts as text)
``date`` / ``time``    ISO-8601 string             ISO-8601 string
``bytes``              bytes                       standard base64 string
``Decimal``            its exact string            its exact string
``Enum``               its ``value``               its ``value``
``UUID``               its string                  its string
:class:`GeoPoint`      geo point                   ``{"latitude": .., "longitude": ..}``
:class:`Reference`     document reference          the path as a string
nested models, dicts   map                         object (keys validated)
list, tuple, set       array (not nested)          array (stored by RTDB as an object)
=====================  ==========================  ======================================

On the way back, pydantic turns the stored forms into the annotated types again. Reading RTDB
data, fields that RTDB could not keep (``None``, empty lists and dicts) are restored from the
annotations, and arrays RTDB stored as objects with integer keys become lists again, by
Firebase's own rule: canonical non-negative integer keys, the largest below twice their
number (an object sparser than that, e.g. ``{"999999999": "x"}`` for a list field, raises
``ValidationFailed`` naming the field instead of allocating a list that long; see
``firebase_sync._wire.rtdb_json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler
from pydantic_core import core_schema

__all__ = ["Document", "GeoPoint", "Increment", "Reference"]


class Document(BaseModel):
    """Base for stored models: fields are the data, ``id`` is the key (never stored)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default="", exclude=True)


class GeoPoint:
    """A latitude/longitude pair (Firestore geo point). Immutable, hashable."""

    # Deliberately not a dataclass: pydantic would dump a dataclass as a dict, and the
    # codecs need to see the GeoPoint itself.
    __slots__ = ("latitude", "longitude")
    latitude: float
    longitude: float

    def __init__(self, latitude: float, longitude: float) -> None:
        object.__setattr__(self, "latitude", float(latitude))
        object.__setattr__(self, "longitude", float(longitude))
        if not -90.0 <= self.latitude <= 90.0 or not -180.0 <= self.longitude <= 180.0:
            raise ValueError(f"GeoPoint out of range: {self.latitude}, {self.longitude}")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("GeoPoint is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GeoPoint):
            return NotImplemented
        return (self.latitude, self.longitude) == (other.latitude, other.longitude)

    def __hash__(self) -> int:
        return hash((GeoPoint, self.latitude, self.longitude))

    def __repr__(self) -> str:
        return f"GeoPoint({self.latitude!r}, {self.longitude!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Kept as itself by model_dump(mode="python") so the codecs see a GeoPoint, not a dict.
        return core_schema.no_info_plain_validator_function(
            _to_geopoint,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _geopoint_out, info_arg=True
            ),
        )


class Reference:
    """A Firestore document reference, as a path relative to the database root.

    ``Reference("users/alice")``; ``.id`` is the last segment, ``.collection`` the path
    of the collection holding it.
    """

    __slots__ = ("path",)
    path: str

    def __init__(self, path: str) -> None:
        segments = path.strip("/").split("/")
        if len(segments) % 2 or any(not s for s in segments):
            raise ValueError(f"not a document path: {path!r}")
        object.__setattr__(self, "path", "/".join(segments))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Reference is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Reference):
            return NotImplemented
        return self.path == other.path

    def __hash__(self) -> int:
        return hash((Reference, self.path))

    def __repr__(self) -> str:
        return f"Reference({self.path!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _to_reference,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _reference_out, info_arg=True
            ),
        )

    @property
    def id(self) -> str:
        """The last segment of the path: the document's id."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def collection(self) -> str:
        """The path of the collection holding the document."""
        return self.path.rsplit("/", 1)[0]


def _to_geopoint(value: Any) -> GeoPoint:
    if isinstance(value, GeoPoint):
        return value
    if isinstance(value, dict) and set(value) == {"latitude", "longitude"}:
        return GeoPoint(float(value["latitude"]), float(value["longitude"]))
    if hasattr(value, "latitude") and hasattr(value, "longitude"):
        return GeoPoint(float(value.latitude), float(value.longitude))
    raise ValueError("expected a GeoPoint or {latitude, longitude}")


def _geopoint_out(value: GeoPoint, info: core_schema.SerializationInfo) -> Any:
    if info.mode == "json":
        return {"latitude": value.latitude, "longitude": value.longitude}
    return value


def _to_reference(value: Any) -> Reference:
    if isinstance(value, Reference):
        return value
    if isinstance(value, str):
        return Reference(value)
    path = getattr(value, "path", None)
    if isinstance(path, str):
        return Reference(path)
    raise ValueError("expected a Reference or a document path")


def _reference_out(value: Reference, info: core_schema.SerializationInfo) -> Any:
    return value.path if info.mode == "json" else value


@dataclass(frozen=True, slots=True)
class Increment:
    """Add ``by`` to a numeric field (a missing field counts as 0) in an ``update``.

    Accepted by ``update`` of :class:`~firebase_sync.FirestoreRepository` (and its batches and
    transactions), :class:`~firebase_sync.RealtimeRepository` and
    :class:`~firebase_sync.OfflineRepository`; applied by the server, so concurrent
    increments all count. An update holding one is not re-sent after a lost answer.
    """

    by: int | float
