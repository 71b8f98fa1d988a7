"""The SSE parser against a one-shot reference, however the bytes are chunked."""

from __future__ import annotations

import gc
import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from firebase_sync._wire.sse import SseEvent, SseParser


def reference(stream: bytes) -> tuple[list[SseEvent], int | None]:
    """The EventSource rules applied to the whole stream at once, the plainest way."""
    lines = re.split(r"\r\n|\r|\n", stream.decode())[:-1]  # the last one has not ended
    events: list[SseEvent] = []
    data: list[str] = []
    event, last_id, retry = "", None, None
    for line in lines:
        if not line:
            if data or event:
                events.append(SseEvent(event or "message", "\n".join(data), last_id))
            event, data = "", []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if not name:
            continue
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            last_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
    return events, retry


def feed_in(stream: bytes, cuts: list[int]) -> tuple[list[SseEvent], int | None]:
    parser = SseParser()
    events: list[SseEvent] = []
    bounds = [0, *sorted(cuts), len(stream)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        events.extend(parser.feed(stream[start:end]))
    return events, parser.retry_ms


# Values mix multi-byte UTF-8 (split across chunks) with characters str.splitlines() would
# wrongly treat as line ends; separators mix LF, CR and CRLF (a CRLF may be cut in two).
value_text = st.text(alphabet="ab :é✓😀\u2028\x85\x0c", max_size=12)
line = st.one_of(
    st.builds("{}{}".format, st.sampled_from(["data:", "data: ", "event: ", "id: "]), value_text),
    st.builds("retry: {}".format, st.integers(0, 5000)),
    st.builds(":{}".format, value_text),
    st.just(""),
    value_text,
)
streams = st.lists(st.tuples(line, st.sampled_from(["\n", "\r", "\r\n"])), max_size=30).map(
    lambda pairs: "".join(text + end for text, end in pairs).encode()
)


# No deadline: other test processes may share the machine; the examples are small anyway.
@settings(deadline=None)
@given(streams, st.data())
def test_any_chunking_parses_like_the_reference(stream: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=40))
    assert feed_in(stream, cuts) == reference(stream)


@settings(deadline=None)
@given(streams)
def test_byte_by_byte_parses_like_the_reference(stream: bytes) -> None:
    assert feed_in(stream, list(range(1, len(stream)))) == reference(stream)


def test_only_lf_cr_and_crlf_end_lines() -> None:
    body = '{"path":"/","data":"a\u2028b\x85c\x0cd"}'
    events, _ = feed_in(f"event: put\ndata: {body}\n\n".encode(), [])
    assert events == [SseEvent("put", body)]


def test_cr_line_end_is_seen_without_waiting_for_the_next_chunk() -> None:
    parser = SseParser()
    assert parser.feed(b"event: put\rdata: 1\r\r") == [SseEvent("put", "1")]
    assert parser.feed(b"\ndata: 2\r\n\r\n") == [SseEvent("message", "2")]


def test_big_event_in_small_chunks_costs_about_what_one_chunk_does() -> None:
    # Regression guard for re-scanning the pending text on every chunk. A ratio of two
    # timings taken alike (best of five, same bytes), not a wall-clock bound: 2 MB in 4 KB
    # chunks costs about 1.5 times one 2 MB chunk; it was about 75 times with the re-scan.
    stream = b"event: put\ndata: " + b"x" * (2 * 1024 * 1024) + b"\n\n"

    def best_time(chunk: int) -> float:
        times = []
        for _ in range(5):
            parser = SseParser()
            start = time.perf_counter()
            for i in range(0, len(stream), chunk):
                parser.feed(stream[i : i + chunk])
            times.append(time.perf_counter() - start)
        return min(times)

    gc.disable()
    try:
        whole, small = best_time(len(stream)), best_time(4096)
    finally:
        gc.enable()
    assert small < 15 * whole, (whole, small)
