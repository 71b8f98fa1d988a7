"""Progress reporting shared by the Firestore and RTDB transfers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

#: called with the number of records done since the last call
Progress = Callable[[int], None]

_STEP = 100


async def write_counted(
    records: AsyncIterator[Any], write: Callable[[Any], None], progress: Progress
) -> int:
    """Hand every record to ``write``, report progress every 100, and return the count."""
    count = 0
    async for record in records:
        write(record)
        count += 1
        if count % _STEP == 0:
            progress(_STEP)
    progress(count % _STEP)
    return count
