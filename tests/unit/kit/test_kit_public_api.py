"""The curated public API: one table, ``__all__`` and the typing imports agree with it, every
name comes from the module the table names, and every error the kit raises is exported."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import firebase_sync
from firebase_sync.errors import FirebaseSyncError

#: Subpackages with their own public API: their errors are exported there, not at the top.
_OWN_API = {"firebase_sync.transfer"}


def _table() -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = firebase_sync._EXPORTS
    return table


def _typing_imports() -> dict[str, set[str]]:
    """The ``if TYPE_CHECKING:`` imports of ``firebase_sync/__init__.py``, by module."""
    tree = ast.parse(Path(firebase_sync.__file__).read_text())
    found: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.unparse(statement)
                module = "." * statement.level + (statement.module or "")
                for alias in statement.names:
                    # ``X as X``: an explicit re-export for type checkers.
                    assert alias.asname == alias.name, ast.unparse(statement)
                    found.setdefault(module, set()).add(alias.name)
    return found


def test_all_is_the_table() -> None:
    names = [name for names in _table().values() for name in names]
    assert len(names) == len(set(names)), "a name appears under two modules"
    assert firebase_sync.__all__ == sorted(names)


def test_typing_imports_are_the_table() -> None:
    assert _typing_imports() == {module: set(names) for module, names in _table().items()}


def test_every_name_comes_from_its_module() -> None:
    for module, names in _table().items():
        defining = importlib.import_module(module, "firebase_sync")
        for name in names:
            assert getattr(firebase_sync, name) is getattr(defining, name), (module, name)


def test_unknown_names_are_refused() -> None:
    try:
        firebase_sync.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("an unknown name was found")


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def test_every_error_is_exported() -> None:
    for info in pkgutil.walk_packages(firebase_sync.__path__, "firebase_sync."):
        importlib.import_module(info.name)
    exported = set(firebase_sync.__all__)
    missing = []
    for error in _subclasses(FirebaseSyncError) | {FirebaseSyncError}:
        if error.__name__.startswith("_") or not error.__module__.startswith("firebase_sync."):
            continue
        owner = next((p for p in _OWN_API if error.__module__.startswith(p + ".")), None)
        if owner is not None:
            assert error.__name__ in importlib.import_module(owner).__all__, error
        elif error.__name__ not in exported:
            missing.append(f"{error.__module__}.{error.__name__}")
    assert not missing, missing


def test_every_public_class_or_function_is_exported() -> None:
    exported = set(firebase_sync.__all__)
    public = {
        name
        for name, value in vars(firebase_sync).items()
        if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
    }
    assert public <= exported, public - exported


def test_exports_have_docstrings() -> None:
    missing = [
        name
        for name in firebase_sync.__all__
        if inspect.isclass(getattr(firebase_sync, name))
        and not getattr(firebase_sync, name).__doc__
    ]
    assert not missing, missing


def test_core_names() -> None:
    for name in (
        "Document",
        "FirestoreRepository",
        "RealtimeRepository",
        "ChangeStream",
        "Store",
        "Change",
        "Synced",
        "InvalidDocument",
        "RetryPolicy",
        "FirebaseSyncError",
        "LocalCache",
        "OfflineRepository",
        "ConflictPolicy",
        "Increment",
        "WriteConflict",
        "DeadlineExceeded",
        "Cancelled",
        "Internal",
        "Unimplemented",
        "Unknown",
    ):
        assert name in firebase_sync.__all__
