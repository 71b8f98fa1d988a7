"""ChangeStream with scripted listeners: merge, backpressure, failure, close."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

import pytest

from firebase_sync import (
    Batch,
    Change,
    ChangeKind,
    ChangeMetadata,
    ChangeStream,
    Document,
    Reconnecting,
    Sink,
    Source,
    SourceState,
    Store,
    Synced,
    errors,
)

FS = Source("firestore", "products")
DB = Source("rtdb", "/products")


class Product(Document):
    price: int


def batch(source: Source, *items: tuple[str, int | None], synced: bool = False) -> Batch[Product]:
    meta = ChangeMetadata(read_time=dt.datetime.now(dt.UTC))
    changes = tuple(
        Change(
            source,
            key,
            ChangeKind.REMOVED if price is None else ChangeKind.ADDED,
            None,
            None if price is None else Product(id=key, price=price),
            meta,
        )
        for key, price in items
    )
    return Batch(source, changes, Synced(source, False, len(items), meta) if synced else None)


class Scripted:
    """A listener that runs a coroutine against its sink, then optionally waits forever."""

    def __init__(
        self,
        source: Source,
        script: Callable[[Sink[Product]], Awaitable[None]],
        *,
        linger: bool = True,
    ) -> None:
        self.source = source
        self.script = script
        self.linger = linger
        self.cancelled = False

    async def run(self, sink: Sink[Product]) -> None:
        try:
            await self.script(sink)
            if self.linger:
                await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


def sends(*batches: Batch[Product]) -> Callable[[Sink[Product]], Awaitable[None]]:
    async def script(sink: Sink[Product]) -> None:
        sink.syncing()
        for b in batches:
            await sink.batch(b)

    return script


def describe(event: object) -> str:
    if isinstance(event, Change):
        return f"{event.source.database}:{event.key}:{event.kind.value}"
    if isinstance(event, Synced):
        return f"{event.source.database}:synced"
    assert isinstance(event, Reconnecting)
    return f"{event.source.database}:reconnecting"


async def take(stream: ChangeStream[Product], n: int) -> list[str]:
    return [describe(await anext(stream)) for _ in range(n)]


async def test_merges_sources_keeping_each_sources_order() -> None:
    fs = Scripted(FS, sends(batch(FS, ("a", 1), ("b", 2), synced=True), batch(FS, ("a", 3))))
    db = Scripted(DB, sends(batch(DB, ("x", 1), synced=True)))
    async with ChangeStream(fs, db) as stream:
        got = await take(stream, 6)
    assert [e for e in got if e.startswith("firestore")] == [
        "firestore:a:added",
        "firestore:b:added",
        "firestore:synced",
        "firestore:a:added",
    ]
    assert [e for e in got if e.startswith("rtdb")] == ["rtdb:x:added", "rtdb:synced"]
    assert fs.cancelled and db.cancelled


async def test_normal_end_when_every_listener_finishes() -> None:
    listener = Scripted(FS, sends(batch(FS, ("a", 1))), linger=False)
    async with ChangeStream(listener) as stream:
        assert [describe(e) async for e in stream] == ["firestore:a:added"]
        assert stream.statistics().sources[0].state is SourceState.CLOSED


async def test_bounded_buffer_makes_producers_wait() -> None:
    produced: list[int] = []

    async def script(sink: Sink[Product]) -> None:
        for i in range(10):
            await sink.batch(batch(FS, (f"k{i}", i)))
            produced.append(i)

    async with ChangeStream(Scripted(FS, script), buffer=2) as stream:
        await asyncio.sleep(0.01)
        assert stream.statistics().events_buffered == 2
        assert len(produced) <= 2
        got = [describe(await anext(stream)) for _ in range(10)]
        assert got == [f"firestore:k{i}:added" for i in range(10)]
        stats = stream.statistics()
        assert stats.events_delivered == 10 and stats.buffer_size == 2


async def test_failure_is_raised_after_earlier_events_and_closes_everything() -> None:
    async def failing(sink: Sink[Product]) -> None:
        await sink.batch(batch(FS, ("a", 1), synced=True))
        raise errors.PermissionDenied("rules changed")

    other = Scripted(DB, sends())
    store: Store[Product] = Store()
    stream = ChangeStream(Scripted(FS, failing), other, store=store)
    async with stream:
        got = [describe(await anext(stream)), describe(await anext(stream))]
        assert got == ["firestore:a:added", "firestore:synced"]
        with pytest.raises(errors.PermissionDenied, match="rules changed"):
            await anext(stream)
        assert stream.closed and other.cancelled
        [fs_stats, _] = stream.statistics().sources
        assert fs_stats.state is SourceState.FAILED and "rules changed" in (
            fs_stats.last_error or ""
        )
    with pytest.raises(errors.PermissionDenied):
        await store.wait_for(lambda s: len(s) > 5, timeout=1)


async def test_a_listener_bug_is_raised_as_internal_error() -> None:
    """Listeners translate their wire's errors; anything untranslated is a bug."""

    async def failing(sink: Sink[Product]) -> None:
        raise KeyError("price")

    async with ChangeStream(Scripted(FS, failing)) as stream:
        with pytest.raises(errors.InternalError) as caught:
            await anext(stream)
    assert isinstance(caught.value.__cause__, KeyError)
    assert not caught.value.retryable


async def test_reconnects_are_events_and_statistics() -> None:
    async def script(sink: Sink[Product]) -> None:
        await sink.batch(batch(FS, ("a", 1), synced=True))
        await sink.reconnecting(1, 0.5, errors.Unavailable("dropped"))
        await sink.batch(batch(FS, synced=True))

    async with ChangeStream(Scripted(FS, script)) as stream:
        got = await take(stream, 4)
        assert got == [
            "firestore:a:added",
            "firestore:synced",
            "firestore:reconnecting",
            "firestore:synced",
        ]
        assert stream.statistics().reconnects == 1
        assert stream.statistics().sources[0].state is SourceState.SYNCED


async def test_markers_false_yields_only_changes() -> None:
    async def script(sink: Sink[Product]) -> None:
        await sink.batch(batch(FS, ("a", 1), synced=True))
        await sink.reconnecting(1, 0.5, errors.Unavailable("dropped"))
        await sink.batch(batch(FS, ("b", 2), synced=True))

    async with ChangeStream(Scripted(FS, script), markers=False) as stream:
        assert await take(stream, 2) == ["firestore:a:added", "firestore:b:added"]


async def test_with_a_store_a_full_resend_emits_only_real_changes() -> None:
    store: Store[Product] = Store()
    listener = Scripted(
        FS,
        sends(
            batch(FS, ("a", 1), ("b", 2), synced=True),
            batch(FS, ("a", 1), ("b", 3), synced=True),  # full re-send after a reconnect
        ),
    )
    async with ChangeStream(listener, store=store) as stream:
        got = await take(stream, 5)
        assert got == [
            "firestore:a:added",
            "firestore:b:added",
            "firestore:synced",
            "firestore:b:modified",
            "firestore:synced",
        ]
        assert store.get("b") == Product(id="b", price=3)


async def test_aclose_is_idempotent_and_leaves_no_task() -> None:
    before = asyncio.all_tasks()
    stream = ChangeStream(Scripted(FS, sends(batch(FS, ("a", 1)))), Scripted(DB, sends()))
    async with stream:
        await anext(stream)
    await stream.aclose()
    await stream.aclose()
    assert asyncio.all_tasks() == before
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_a_stream_closed_before_it_started_is_never_started() -> None:
    before = asyncio.all_tasks()
    stream = ChangeStream(Scripted(FS, sends(batch(FS, ("a", 1)))))
    await stream.aclose()
    with pytest.raises(errors.StreamClosed):
        async with stream:
            pass
    with pytest.raises(errors.StreamClosed):
        aiter(stream)
    assert asyncio.all_tasks() == before


async def test_cancelled_consumer_loses_no_event() -> None:
    gate = asyncio.Event()

    async def script(sink: Sink[Product]) -> None:
        await gate.wait()
        await sink.batch(batch(FS, ("a", 1)))

    async with ChangeStream(Scripted(FS, script)) as stream:
        reader = asyncio.create_task(anext(stream))
        await asyncio.sleep(0)
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
        gate.set()
        assert describe(await anext(stream)) == "firestore:a:added"
