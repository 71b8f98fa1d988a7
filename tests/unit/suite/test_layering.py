"""Dependencies point one way: checked on the source, so a violation fails CI at once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
WIRE_LIBRARIES = ("grpc", "google.protobuf", "aiohttp", "google.cloud", "firebase_admin")
#: kit modules that hold state or describe data: no wire library may be imported by them.
WIRE_FREE = (
    "change.py",
    "store.py",
    "stream.py",
    "models.py",
    "query.py",
    "retry.py",
    "errors.py",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "emulator").rglob("*.py")), ids=str)
def test_emulator_never_imports_the_kit(path: Path) -> None:
    assert not any(name.split(".")[0] == "firebase_sync" for name in _imports(path))


@pytest.mark.parametrize("name", WIRE_FREE)
def test_kit_state_modules_import_no_wire_library(name: str) -> None:
    imported = _imports(ROOT / "firebase_sync" / name)
    assert not [i for i in imported if i.startswith(WIRE_LIBRARIES)]


def test_wire_errors_are_translated_only_in_the_adapters() -> None:
    """One translator per wire, in the adapter that meets it: no other kit module catches a
    wire library's exceptions by importing their modules."""
    error_modules = ("grpc", "google.api_core", "aiohttp", "firebase_admin")
    allowed = {"adapters", "transfer", "cli"}
    offenders = []
    for path in (ROOT / "firebase_sync").rglob("*.py"):
        relative = path.relative_to(ROOT / "firebase_sync")
        # the test-support modules build clients and apps; they translate no wire errors
        if relative.parts[0] in allowed or relative.name in ("testing.py", "rules_testing.py"):
            continue
        for name in _imports(path):
            if name.startswith(error_modules):
                offenders.append(f"{relative}: {name}")
    assert not offenders
