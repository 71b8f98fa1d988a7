"""Plain data to the Python values google-cloud-firestore's client expects, and back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from google.cloud.firestore_v1 import _helpers, transforms
from google.cloud.firestore_v1.async_client import AsyncClient
from google.cloud.firestore_v1.base_document import BaseDocumentReference

from ..models import GeoPoint, Reference

__all__ = ["from_native", "is_transform", "to_native"]


def is_transform(value: Any) -> bool:
    """Server-side values (DELETE_FIELD, SERVER_TIMESTAMP, Increment...) pass through as is."""
    return isinstance(value, transforms.Sentinel | transforms._ValueList | transforms._NumericValue)


def to_native(value: Any, client: AsyncClient) -> Any:
    if isinstance(value, GeoPoint):
        return _helpers.GeoPoint(value.latitude, value.longitude)
    if isinstance(value, Reference):
        return client.document(value.path)
    if isinstance(value, Mapping):
        return {key: to_native(item, client) for key, item in value.items()}
    if isinstance(value, list):
        return [to_native(item, client) for item in value]
    return value


def from_native(value: Any) -> Any:
    if isinstance(value, _helpers.GeoPoint):
        return GeoPoint(value.latitude, value.longitude)
    if isinstance(value, BaseDocumentReference):
        return Reference(value.path)
    if isinstance(value, dt.datetime):
        # DatetimeWithNanoseconds -> a plain datetime, microseconds kept, always UTC.
        plain = dt.datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=value.tzinfo or dt.UTC,
        )
        return plain.astimezone(dt.UTC)
    if isinstance(value, Mapping):
        return {key: from_native(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_native(item) for item in value]
    return value
