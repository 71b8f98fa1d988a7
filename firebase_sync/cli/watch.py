"""``firebase-sync watch firestore:COLLECTION rtdb:/PATH ...``: the unified change stream, live."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from contextlib import AsyncExitStack
from typing import Any

import click
from rich.live import Live

from firebase_sync.adapters.firestore import FirestoreRepository
from firebase_sync.adapters.realtime import RealtimeRepository
from firebase_sync.change import Change, Synced
from firebase_sync.cli.data import run_with_deadline
from firebase_sync.cli.render import EventTable, console, jsonl, plain_line
from firebase_sync.cli.targets import (
    TARGET,
    Record,
    Target,
    make_connection,
    stream_options,
)
from firebase_sync.stream import ChangeStream


@click.command("watch")
@stream_options
@click.argument("targets", nargs=-1, required=True, type=TARGET)
@click.option("--jsonl", "as_jsonl", is_flag=True, help="One JSON object per event.")
@click.option("--max-changes", type=click.IntRange(min=1), help="Stop after this many changes.")
@click.option(
    "--until-synced", is_flag=True, help="Stop once every source has reached a consistent state."
)
def watch_command(
    targets: tuple[Target, ...],
    project: str | None,
    database_url: str | None,
    timeout: float | None,
    as_jsonl: bool,
    max_changes: int | None,
    until_synced: bool,
) -> None:
    """Print the merged change stream of Firestore collections and RTDB paths until Ctrl-C."""
    connection = make_connection(project, database_url, {t.database for t in targets})
    out = console()
    live = out.is_terminal and not as_jsonl

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with AsyncExitStack() as stack:
            app = await stack.enter_async_context(connection.app())
            listeners: list[Any] = []
            for target in targets:
                repo: Any
                if target.database == "firestore":
                    repo = FirestoreRepository(Record, target.collection(), app=app)
                else:
                    repo = RealtimeRepository(Record, target.path, app=app)
                stack.push_async_callback(repo.aclose)
                listeners.append(repo.listener())
            stream = await stack.enter_async_context(ChangeStream(*listeners))
            table = EventTable()
            display = stack.enter_context(Live(table, console=out)) if live else None
            synced: set[str] = set()
            changes = 0
            events = aiter(stream)
            while not stop.is_set():
                next_event = asyncio.ensure_future(anext(events))
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({next_event, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not next_event.done():
                    next_event.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await next_event
                    break
                try:
                    event = next_event.result()
                except StopAsyncIteration:
                    break
                if display is not None:
                    table.add(event)
                    display.refresh()
                else:
                    click.echo(jsonl(event) if as_jsonl else plain_line(event))
                if isinstance(event, Change):
                    changes += 1
                    if max_changes is not None and changes >= max_changes:
                        break
                if isinstance(event, Synced):
                    synced.add(str(event.source))
                    if until_synced and len(synced) == len(listeners):
                        break

    run_with_deadline(run, timeout)
