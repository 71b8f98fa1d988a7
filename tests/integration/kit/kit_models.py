"""The model the kit's integration tests share."""

from __future__ import annotations

from firebase_sync import Document


class Product(Document):
    name: str
    price: float
    tags: list[str] = []
