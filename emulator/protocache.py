"""An opt-in on-disk cache of the Firestore message descriptors, for processes without the client.

Building the message classes through google-cloud-firestore's proto-plus types costs about a
third of a second, most of an emulator's cold start. A process that serves the emulators and
never loads the client (the ``emulators:start`` / ``emulators:exec`` command) may set
``directory`` before ``emulator.firestore.protos`` is first imported: the descriptors, taken
from the installed client package once and stored there, then give the same message classes
in a few milliseconds. Those classes live in a private descriptor pool, so they are not the
client's classes (messages only cross as bytes in such a process); everywhere else
``directory`` stays None and the emulator shares the client's classes as before.

The cache is keyed by the protobuf version and the size and modification time of every file
of the client's ``types`` package, so an upgrade rebuilds it; a damaged file is rebuilt too.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

#: where to keep the cache; None (the default) disables it.
directory: Path | None = None

_PACKAGE = "google.cloud.firestore_v1"
MODULES = ("common", "document", "firestore", "query", "write")
_FILE = "google/cloud/firestore_v1/types/{}.proto"


class _Message:
    """Stands for a proto-plus type: ``.pb()`` gives the message class."""

    def __init__(self, cls: Any) -> None:
        self._cls = cls

    def pb(self) -> Any:
        return self._cls


def _cache_file(root: Path) -> Path | None:
    import google.protobuf

    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    types_dir = Path(next(iter(spec.submodule_search_locations))) / "types"
    key = hashlib.sha256(google.protobuf.__version__.encode())
    for entry in sorted(os.scandir(types_dir), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            st = entry.stat()
            key.update(f"{entry.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return root / f"firestore-descriptors-{key.hexdigest()[:16]}.bin"


def load() -> dict[str, Any] | None:
    """The five message namespaces from the cache, or None (no cache, or not usable)."""
    if directory is None:
        return None
    try:
        path = _cache_file(directory)
        if path is None:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from google.protobuf.message import DecodeError

    try:
        files = descriptor_pb2.FileDescriptorSet.FromString(data)
        pool = descriptor_pool.DescriptorPool()
        for proto in files.file:
            pool.Add(proto)
        out: dict[str, Any] = {}
        for name in MODULES:
            described = pool.FindFileByName(_FILE.format(name))
            out[name] = SimpleNamespace(**{
                msg: _Message(message_factory.GetMessageClass(d))
                for msg, d in described.message_types_by_name.items()
            })
        return out
    except (DecodeError, KeyError, TypeError):
        return None


def store(types: dict[str, ModuleType]) -> None:
    """Write the descriptors behind ``types`` (the proto-plus modules) to the cache."""
    if directory is None:
        return
    from google.protobuf import descriptor_pb2

    files = descriptor_pb2.FileDescriptorSet()
    seen: set[str] = set()

    def add(described: Any) -> None:
        if described.name in seen:
            return
        for dependency in described.dependencies:
            add(dependency)
        seen.add(described.name)
        described.CopyToProto(files.file.add())

    for module in types.values():
        for value in vars(module).values():
            pb = getattr(value, "pb", None)
            if callable(pb) and isinstance(value, type):
                try:
                    add(pb().DESCRIPTOR.file)
                except (AttributeError, TypeError):
                    continue
    try:
        path = _cache_file(directory)
        if path is None:
            return
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, delete=False) as tmp:
            tmp.write(files.SerializeToString())
        os.replace(tmp.name, path)
    except OSError:
        return  # a cache that cannot be written only costs the next start its speed
