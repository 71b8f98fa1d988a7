"""The kit's logging: named loggers, reconnects and give-ups reported, never a credential,
and nothing printed until the application configures logging."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from firebase_sync import ChangeStream, Document, Sink, Source, errors
from firebase_sync._log import redact

FS = Source("firestore", "products")
SECRET = "ya29.secret-token"


class Product(Document):
    price: int


class Flaky:
    """Reports one reconnect whose error text carries a credential, then gives up."""

    source = FS

    async def run(self, sink: Sink[Product]) -> None:
        lost = errors.Unavailable(f"refused with Authorization: Bearer {SECRET}")
        await sink.reconnecting(1, 0.25, lost)
        raise errors.PermissionDenied(f"https://x.firebaseio.com/a.json?auth={SECRET} denied")


async def test_reconnects_and_give_ups_are_logged_without_tokens(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="firebase_sync")
    async with ChangeStream(Flaky()) as stream:
        with pytest.raises(errors.PermissionDenied):
            async for _ in stream:
                pass
    records = [r for r in caplog.records if r.name == "firebase_sync.stream"]
    assert [r.levelno for r in records] == [logging.WARNING, logging.ERROR]
    assert "reconnecting in 0.25 s (attempt 1)" in records[0].getMessage()
    assert "gave up" in records[1].getMessage()
    assert all(SECRET not in r.getMessage() for r in caplog.records)
    assert "Bearer ***" in records[0].getMessage() and "auth=***" in records[1].getMessage()


def test_redact_keeps_ordinary_text() -> None:
    assert redact("products/p1 key=p1 not found") == "products/p1 key=p1 not found"
    assert redact("access_token=abc&x=1") == "access_token=***&x=1"


def test_silent_until_configured() -> None:
    """No handler configured: a warning of the kit reaches no output (not even lastResort)."""
    code = (
        "import logging, firebase_sync; "
        "logging.getLogger('firebase_sync.stream').warning('should not be seen')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
