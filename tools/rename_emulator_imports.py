"""Point every import of the embedded emulator at its installed name, ``firebase_sync_emulator``.

The sources stay in the repository's ``emulator/`` folder; pyproject.toml installs that folder
as the package ``firebase_sync_emulator`` (a generic top-level ``emulator`` would clash with a
user's own ``emulator.py``). This script, safe to run again after merging branches that still
write ``from emulator.x import ...``:

- inside ``emulator/``: turns absolute self-imports into relative ones (``from ..state import``),
  so the package works under any name;
- everywhere else (``firebase_sync/``, ``tests/``, ``benchmarks/``, ``examples/``, ``tools/``):
  rewrites ``from emulator...`` / ``import emulator...`` and the dotted uses that follow such an
  import (``emulator.database.__all__``) to ``firebase_sync_emulator``.

A file containing ``rename_emulator_imports: leave alone`` is skipped.
``python tools/rename_emulator_imports.py`` rewrites and lists the files changed (then run
``ruff check --fix --select I`` on them: relative imports sort apart); ``--check`` only lists
them and exits 1 if any would change (a test runs that).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDER = "emulator"
NAME = "firebase_sync_emulator"
ELSEWHERE = ("firebase_sync", "tests", "benchmarks", "examples", "tools")
#: files holding this text are left alone (a user's own ``emulator`` module in a test fixture)
SKIP_MARK = "rename_emulator_imports: " + "leave alone"

_FROM = re.compile(r"^(?P<indent>[ \t]*)from emulator(?P<rest>(?:\.[\w.]+)?) import ", re.M)
_IMPORT = re.compile(
    r"^(?P<indent>[ \t]*)import emulator(?P<rest>\.[\w.]+)?(?=[ \t]*(?:$|#| as ))", re.M
)

_IN_STRING = re.compile(r"(?<![\w.])(?P<keyword>import|from) emulator\.(?=\w)")


def _relative(package: list[str], target: str) -> str:
    """``from`` clause reaching module ``target`` (dotted, from the root) from ``package``."""
    parts = target.split(".")
    common = 0
    while common < min(len(package), len(parts)) and package[common] == parts[common]:
        common += 1
    dots = "." * (len(package) - common + 1)
    return dots + ".".join(parts[common:])


def rewrite_inside(path: Path, text: str) -> str:
    """Absolute self-imports of a module in ``emulator/`` made relative."""
    # a module's package, and an __init__'s own package, are its folder
    package = list(path.relative_to(ROOT).parts[:-1])

    def from_clause(match: re.Match[str]) -> str:
        target = FOLDER + match["rest"]
        return f"{match['indent']}from {_relative(package, target)} import "

    def import_clause(match: re.Match[str]) -> str:
        if not match["rest"]:
            raise SystemExit(f"{path}: 'import emulator' inside the package: rewrite by hand")
        parent, _, module = (FOLDER + match["rest"]).rpartition(".")
        return f"{match['indent']}from {_relative(package, parent)} import {module}"

    return _IMPORT.sub(import_clause, _FROM.sub(from_clause, text))


def rewrite_outside(text: str) -> str:
    """Imports of ``emulator`` (and the dotted uses they bind) renamed."""
    imported_dotted = bool(_IMPORT.search(text))
    text = _FROM.sub(lambda m: f"{m['indent']}from {NAME}{m['rest']} import ", text)
    text = _IMPORT.sub(lambda m: f"{m['indent']}import {NAME}{m['rest'] or ''}", text)
    # the same statements inside strings (``python -c "import emulator.suite"``)
    text = _IN_STRING.sub(lambda m: f"{m['keyword']} {NAME}.", text)
    if imported_dotted:
        # `import emulator.database` binds the name `emulator`: its uses follow the rename.
        text = re.sub(r"(?<![\w.])emulator\.(?=[a-z_])", f"{NAME}.", text)
    return text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    changed: list[Path] = []
    sources = [(p, True) for p in sorted((ROOT / FOLDER).rglob("*.py"))]
    for folder in ELSEWHERE:
        sources += [(p, False) for p in sorted((ROOT / folder).rglob("*.py"))]
    for path, inside in sources:
        if path == Path(__file__).resolve() or "node_modules" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if SKIP_MARK in text:
            continue
        new = rewrite_inside(path, text) if inside else rewrite_outside(text)
        if new != text:
            changed.append(path)
            if not check:
                path.write_text(new, encoding="utf-8")
    for path in changed:
        print(path.relative_to(ROOT))
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
