"""Streaming a Realtime Database path out, and back in, over REST.

**Out.** The children of the path are read in pages of ``orderBy="$key"`` with
``limitToFirst`` and ``startAt`` the last key seen (inclusive, so that key is skipped), in
Firebase key order; only one page is held at a time. A path holding a plain value (a leaf)
is one record without a key. Priorities are not exported.

**In.** Children are written with multi-child ``PATCH`` requests of a bounded size (each named
child is replaced whole, other children of the path are kept); a leaf is written with ``PUT``.
Both are idempotent, so a retried request is harmless.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from .._wire.rtdb_json import split_path
from .._wire.rtdb_order import key_order
from ..adapters._rtdb_http import RtdbEndpoint
from ..errors import InvalidArgument, ValidationFailed
from ..retry import RetryPolicy
from .progress import Progress, write_counted

__all__ = ["RtdbTransfer"]

_KEY = json.dumps("$key")
_SILENT = {"print": "silent"}


class RtdbTransfer:
    """Export and import of RTDB paths through an :class:`RtdbEndpoint`."""

    def __init__(
        self,
        endpoint: RtdbEndpoint,
        *,
        page_size: int = 1000,
        max_request_bytes: int = 4 * 1024 * 1024,
        retry: RetryPolicy | None = None,
    ) -> None:
        if page_size < 1:
            raise InvalidArgument("page_size must be positive")
        self.endpoint = endpoint
        self.page_size = page_size
        self.max_request_bytes = max_request_bytes
        self.retry = retry or RetryPolicy()

    async def _get(self, path: str, params: dict[str, str]) -> Any:
        response = await self.retry.run(
            lambda: self.endpoint.request("GET", path, params=params), idempotent=True, path=path
        )
        return response.json()

    async def records(self, path: str) -> AsyncIterator[dict[str, Any]]:
        """``{"key", "value"}`` per child in key order; ``{"value"}`` alone for a leaf."""
        path = _normal(path)
        params = {"orderBy": _KEY, "limitToFirst": str(self.page_size)}
        page = await self._get(path, params)
        if page is None:
            return
        if not isinstance(page, dict):
            yield {"value": page}
            return
        while True:
            keys = sorted(page, key=key_order)
            for key in keys:
                yield {"key": key, "value": page[key]}
            if len(keys) < self.page_size:
                return
            # startAt is inclusive: ask for one more and drop the key already written.
            params = {
                "orderBy": _KEY,
                "startAt": json.dumps(keys[-1]),
                "limitToFirst": str(self.page_size + 1),
            }
            page = await self._get(path, params) or {}
            if not isinstance(page, dict):
                return  # the path became a leaf meanwhile: nothing more under it
            page.pop(keys[-1], None)
            if not page:
                return

    async def export(self, path: str, write: Callable[[Any], None], progress: Progress) -> int:
        """Write ``path``'s records with ``write(record)``; return the record count."""
        return await write_counted(self.records(path), write, progress)

    async def import_(self, path: str, records: Iterable[Any], progress: Progress) -> int:
        """Write the records of one exported path back under ``path``; return the count."""
        path = _normal(path)
        batch: dict[str, Any] = {}
        size = count = 0
        for record in records:
            if not isinstance(record, dict) or "value" not in record:
                raise ValidationFailed("a record needs a 'value'", path=path)
            count += 1
            if "key" not in record:
                await self._send("PUT", path, record["value"])
                progress(1)
                continue
            key = str(record["key"])
            batch[key] = record["value"]
            size += len(key) + len(json.dumps(record["value"], ensure_ascii=False))
            if size >= self.max_request_bytes or len(batch) >= self.page_size:
                await self._send("PATCH", path, batch)
                progress(len(batch))
                batch, size = {}, 0
        if batch:
            await self._send("PATCH", path, batch)
            progress(len(batch))
        return count

    async def _send(self, method: str, path: str, body: Any) -> None:
        await self.retry.run(
            lambda: self.endpoint.request(method, path, params=_SILENT, body=body),
            idempotent=True,
            path=path,
        )


def _normal(path: str) -> str:
    return "/" + "/".join(split_path(path))
