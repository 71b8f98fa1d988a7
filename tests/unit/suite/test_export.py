"""Exports are swapped in whole: a failure mid-export never destroys the previous one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from firebase_sync_emulator.export import METADATA_FILE, export_directory, read_export_metadata


def _exporter(payload: str):  # type: ignore[no-untyped-def]
    def export(directory: Path) -> dict[str, object]:
        (directory / "database_export").mkdir()
        (directory / "database_export" / "ns.json").write_text(payload)
        return {"version": "test", "path": "database_export"}

    return export


def test_export_writes_metadata_and_data(tmp_path: Path) -> None:
    target = tmp_path / "export"
    export_directory(target, {"database": _exporter('{"a": 1}')})
    metadata = json.loads((target / METADATA_FILE).read_text())
    assert metadata["database"] == {"version": "test", "path": "database_export"}
    assert (target / "database_export" / "ns.json").read_text() == '{"a": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_failed_export_keeps_previous_export(tmp_path: Path) -> None:
    target = tmp_path / "export"
    export_directory(target, {"database": _exporter('{"v": "old"}')})

    def broken(directory: Path) -> dict[str, object]:
        (directory / "partial.json").write_text("{")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        export_directory(target, {"database": broken})
    assert (target / "database_export" / "ns.json").read_text() == '{"v": "old"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_import_finds_previous_export_after_crash_mid_swap(tmp_path: Path) -> None:
    target = tmp_path / "export"
    export_directory(target, {"database": _exporter("{}")})
    target.rename(tmp_path / "export.previous")  # the state a crash between the renames leaves
    root, metadata = read_export_metadata(target)
    assert root == tmp_path / "export.previous"
    assert "database" in metadata


def test_missing_export_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=METADATA_FILE):
        read_export_metadata(tmp_path / "nothing")


def test_a_directory_that_is_not_an_export_is_never_replaced(tmp_path: Path) -> None:
    target = tmp_path / "documents"
    target.mkdir()
    (target / "thesis.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="holds no emulator export"):
        export_directory(target, {"database": _exporter("{}")})
    assert (target / "thesis.txt").read_text() == "precious"


def test_reexport_carries_over_sources_not_written(tmp_path: Path) -> None:
    target = tmp_path / "export"

    def firestore(directory: Path) -> dict[str, object]:
        (directory / "firestore_export").mkdir()
        (directory / "firestore_export" / "data").write_text("fs")
        return {"version": "test", "path": "firestore_export"}

    export_directory(target, {"database": _exporter('{"v": 1}'), "firestore": firestore})
    export_directory(target, {"database": _exporter('{"v": 2}')})
    metadata = json.loads((target / METADATA_FILE).read_text())
    assert set(metadata) == {"version", "database", "firestore"}
    assert (target / "firestore_export" / "data").read_text() == "fs"
    assert (target / "database_export" / "ns.json").read_text() == '{"v": 2}'
