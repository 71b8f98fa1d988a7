"""The curated public API: everything in ``__all__`` exists, nothing private leaks."""

from __future__ import annotations

import inspect

import firebase_sync


def test_all_names_exist_and_are_sorted_groups() -> None:
    for name in firebase_sync.__all__:
        assert hasattr(firebase_sync, name), name
    assert len(set(firebase_sync.__all__)) == len(firebase_sync.__all__)


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
    ):
        assert name in firebase_sync.__all__
