"""Every public callable reachable from ``firebase_sync.__all__`` says what it does."""

from __future__ import annotations

import enum
import inspect
from collections.abc import Iterator

import pydantic

import firebase_sync
import firebase_sync.testing

# Members inherited from these bases are theirs to document.
_FOREIGN_BASES = (object, BaseException, pydantic.BaseModel, enum.Enum, tuple, dict, str, int)


def _own_members(cls: type) -> Iterator[tuple[str, object]]:
    for klass in cls.__mro__:
        if klass in _FOREIGN_BASES or klass.__module__.split(".")[0] != "firebase_sync":
            continue
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if isinstance(value, property):
                value = value.fget
            if inspect.isfunction(value):
                yield f"{klass.__qualname__}.{name}", value


def _public_callables() -> Iterator[tuple[str, object]]:
    for module in (firebase_sync, firebase_sync.testing):
        for name in module.__all__:
            value = getattr(module, name)
            if getattr(value, "__module__", "").split(".")[0] != "firebase_sync":
                continue
            if inspect.isclass(value):
                yield name, value
                yield from _own_members(value)
            elif callable(value):
                yield name, value


def test_every_public_callable_has_a_docstring() -> None:
    missing = sorted(
        {name for name, value in _public_callables() if not (inspect.getdoc(value) or "").strip()}
    )
    assert missing == []
