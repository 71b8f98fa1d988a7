"""Showing change-stream events: JSON lines for scripts, a live table for people."""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from rich.console import Console
from rich.table import Table

from firebase_sync.change import Change, InvalidDocument, Reconnecting, Synced
from firebase_sync.cli.options import plural
from firebase_sync.cli.targets import to_json

#: event type -> (singular, plural) in the table's caption.
_COUNT_NOUNS = {
    "change": ("change", "changes"),
    "synced": ("sync", "syncs"),
    "reconnecting": ("reconnect", "reconnects"),
    "invalid": ("invalid document", "invalid documents"),
}
_KIND_STYLES = {"added": "green", "modified": "yellow", "removed": "red"}


def event_record(event: Any) -> dict[str, Any]:
    """One event as a JSON-ready dict with a ``type`` field."""
    if isinstance(event, Change):
        return {
            "type": "change",
            "source": str(event.source),
            "key": event.key,
            "kind": event.kind.value,
            "before": to_json(_fields(event.before)),
            "after": to_json(_fields(event.after)),
            "from_cache": event.metadata.from_cache,
            "resumed": event.metadata.resumed,
        }
    if isinstance(event, Synced):
        return {
            "type": "synced",
            "source": str(event.source),
            "entries": event.entries,
            "resumed": event.resumed,
        }
    if isinstance(event, Reconnecting):
        return {
            "type": "reconnecting",
            "source": str(event.source),
            "attempt": event.attempt,
            "delay": round(event.delay, 3),
            "error": str(event.error),
        }
    if isinstance(event, InvalidDocument):
        return {
            "type": "invalid",
            "source": str(event.source),
            "key": event.key,
            "path": event.path,
            "error": str(event.error),
        }
    return {"type": type(event).__name__}


def _fields(document: Any) -> Any:
    """A model's stored fields (its id is the change's key)."""
    if document is None:
        return None
    data: dict[str, Any] = document.model_dump()
    return data


def jsonl(event: Any) -> str:
    return json.dumps(event_record(event), ensure_ascii=False)


def summary(value: Any, width: int = 60) -> str:
    """A one-line, shortened JSON rendering."""
    text = "" if value is None else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


class EventTable:
    """The most recent events as a rich table (for ``rich.live.Live``)."""

    def __init__(self, rows: int = 20) -> None:
        self.rows: deque[tuple[str, ...]] = deque(maxlen=rows)
        self.counts = {"change": 0, "synced": 0, "reconnecting": 0, "invalid": 0}

    def add(self, event: Any) -> None:
        record = event_record(event)
        kind = record["type"]
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind == "change":
            detail = summary(record["after"] if record["kind"] != "removed" else record["before"])
            self.rows.append((record["source"], record["key"], record["kind"], detail))
        elif kind == "synced":
            note = "resynced" if record["resumed"] else "in sync"
            self.rows.append(
                (record["source"], "", note, plural(record["entries"], "entry", "entries"))
            )
        elif kind == "reconnecting":
            self.rows.append((record["source"], "", "reconnecting", record["error"]))
        elif kind == "invalid":
            self.rows.append((record["source"], record["key"], "invalid", record["error"]))

    def __rich__(self) -> Table:
        counts = ", ".join(
            plural(n, *_COUNT_NOUNS.get(kind, (kind, kind))) for kind, n in self.counts.items() if n
        )
        table = Table(title="firebase-sync watch", caption=counts or "waiting for events…")
        for column in ("source", "key", "event", "data"):
            table.add_column(column, overflow="fold")
        for source, key, kind, detail in self.rows:
            table.add_row(source, key, f"[{_KIND_STYLES.get(kind, 'cyan')}]{kind}[/]", detail)
        return table


def plain_line(event: Any) -> str:
    """One readable line per event (not a terminal, no --jsonl)."""
    record = event_record(event)
    if record["type"] == "change":
        value = record["after"] if record["kind"] != "removed" else record["before"]
        return f"{record['source']} {record['key']} {record['kind']} {summary(value)}"
    rest = " ".join(f"{k}={v}" for k, v in record.items() if k not in ("type", "source"))
    return f"{record['source']} {record['type']} {rest}"


def console() -> Console:
    return Console(highlight=False)
