"""The descriptor cache of the emulators' own process: same messages, no client loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from pathlib import Path
from emulator import protocache
protocache.directory = Path(sys.argv[1])
import emulator.firestore.server
from emulator.firestore import protos
doc = protos.document.Document.pb()(name="projects/p/databases/d/documents/c/x")
doc.fields["n"].integer_value = 7
listen = protos.firestore.ListenResponse.pb()()
listen.document_change.document.CopyFrom(doc)
from google.protobuf import descriptor_pool
shared = doc.DESCRIPTOR.file.pool is descriptor_pool.Default()
print("client-classes" if shared else "cached-classes")
print(listen.SerializeToString().hex())
"""


def run(cache: Path) -> list[str]:
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(cache)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_second_start_uses_the_cache_and_encodes_the_same(tmp_path: Path) -> None:
    first = run(tmp_path)
    [cached] = list(tmp_path.iterdir())
    second = run(tmp_path)
    assert first[0] == "client-classes"  # the cache is built from the client's types
    assert second[0] == "cached-classes"
    assert first[-1] == second[-1]
    cached.write_bytes(b"\x00garbage")  # a damaged cache is rebuilt, not trusted
    assert run(tmp_path)[-1] == first[-1]
    assert run(tmp_path)[0] == "cached-classes"
