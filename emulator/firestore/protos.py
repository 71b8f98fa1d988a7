"""The Firestore message classes, taken from google-cloud-firestore's own generated types.

Importing ``google.cloud.firestore_v1.types`` normally runs the package's ``__init__`` first,
which loads the whole client (about 0.45 s, half of the emulators' cold start). The emulator
only needs the message modules, so when no client has been imported yet they are loaded under
a bare stand-in for the package, which is then removed again: a later
``import google.cloud.firestore_v1`` runs the real ``__init__`` as usual and finds these very
modules in ``sys.modules`` (one copy of every message class and descriptor, shared with the
client). When the client is already loaded, this is a plain import. A process that never
loads the client can take the classes from a descriptor cache instead (``protocache``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any

from emulator import protocache

_PACKAGE = "google.cloud.firestore_v1"


def _import_types() -> ModuleType:
    if _PACKAGE in sys.modules:
        return importlib.import_module(f"{_PACKAGE}.types")
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None:
        raise ImportError(f"{_PACKAGE} is not installed")
    parent_name, _, child = _PACKAGE.rpartition(".")
    parent = importlib.import_module(parent_name)
    sys.modules[_PACKAGE] = importlib.util.module_from_spec(spec)
    try:
        return importlib.import_module(f"{_PACKAGE}.types")
    finally:
        # Forget the stand-in (and the parent's attribute the import set to it), so the next
        # import of the package builds the real one.
        del sys.modules[_PACKAGE]
        if getattr(parent, child, None) is not None:
            delattr(parent, child)


def _load() -> dict[str, Any]:
    if _PACKAGE not in sys.modules:
        cached = protocache.load()
        if cached is not None:
            return cached
    types = _import_types()
    modules = {name: getattr(types, name) for name in protocache.MODULES}
    if protocache.directory is not None:
        protocache.store(modules)
    return modules


_modules = _load()
common: Any = _modules["common"]
document: Any = _modules["document"]
firestore: Any = _modules["firestore"]
query: Any = _modules["query"]
write: Any = _modules["write"]

__all__ = ["common", "document", "firestore", "query", "write"]
