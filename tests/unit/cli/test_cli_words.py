"""What the CLI says: plurals in its summaries and captions."""

from __future__ import annotations

from firebase_sync.cli.options import plural
from firebase_sync.cli.render import EventTable


def test_plural() -> None:
    assert [plural(n, "record") for n in (0, 1, 5)] == ["0 records", "1 record", "5 records"]
    assert plural(1, "entry", "entries") == "1 entry" and plural(2, "entry", "entries") == (
        "2 entries"
    )


def test_event_table_caption_counts_read_right() -> None:
    table = EventTable()
    table.counts.update(change=5, synced=1, reconnecting=2, invalid=1)
    caption = str(table.__rich__().caption)
    assert caption == "5 changes, 1 sync, 2 reconnects, 1 invalid document"
