"""Where the Firestore emulator asks the rules: reads, queries, listen targets and commits.

The caller's identity travels in a context variable that each wire handler sets from the
request's ``authorization`` metadata or header (``CALLER``); code that runs outside a request
(exports, test hooks) acts as the administrator. A project without uploaded rules is open, as
the official emulator is when no rules file is given. The rules engine (``policy``, ``engine``)
is imported on the first upload, so an emulator without rules never pays for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from ...errors import Code, ServiceError
from ...identity import ADMIN, Identity
from ...rules.errors import RulesSyntaxError

if TYPE_CHECKING:
    from .engine import Rules
    from .language import Warning_

CALLER: ContextVar[Identity] = ContextVar("firestore_caller", default=ADMIN)


class RulesError(ServiceError):
    """Rules text that does not compile: INVALID_ARGUMENT naming the line and column."""

    def __init__(self, error: RulesSyntaxError) -> None:
        super().__init__(Code.INVALID_ARGUMENT, f"Error compiling rules:\n{error}")
        self.line = error.line
        self.column = error.column


def _compile(text: str) -> Rules:
    from .engine import Rules

    try:
        return Rules(text)
    except RulesSyntaxError as exc:
        raise RulesError(exc) from None


def _project(name: str) -> str:
    """``projects/<p>/databases/...`` -> ``<p>``."""
    return name.split("/", 2)[1]


class Guard:
    """The rules of each project and the checks the servicer runs before answering."""

    def __init__(self, default_text: str | None = None) -> None:
        self._rules: dict[str, Rules] = {}
        #: rules for every project without its own upload (the ``--rules`` file / firebase.json).
        self._default: Rules | None = None
        if default_text is not None:
            self._default = _compile(default_text)

    def set_rules(self, project: str, text: str) -> list[Warning_]:
        """Compile and install ``text``, returning its warnings; on a syntax error
        (``RulesError``) the previous rules stay."""
        compiled = _compile(text)
        self._rules[project] = compiled
        return list(compiled.ruleset.warnings)

    def rules_text(self, project: str) -> str | None:
        """The rules source in force for ``project`` (``None``: open, no rules loaded)."""
        rules = self._rules.get(project, self._default)
        return None if rules is None else rules.source

    def clear(self, project: str) -> None:
        """Forget ``project``'s uploaded rules."""
        self._rules.pop(project, None)

    def _active(self, project: str) -> tuple[Rules, Identity] | None:
        identity = CALLER.get()
        if identity.admin:
            return None
        rules = self._rules.get(project, self._default)
        return None if rules is None else (rules, identity)

    def check_get(self, database: Any, name: str, doc: Any | None) -> None:
        """A single-document read (``get``) of ``name``, whose stored value is ``doc``."""
        active = self._active(_project(name))
        if active is not None:
            from . import policy

            policy.check_get(*active, database, name, doc)

    def check_list(
        self,
        database: Any,
        parent: str,
        collection_id: str,
        all_descendants: bool,
        structured_query: Any | None,
    ) -> None:
        """A query (``list``) over ``collection_id`` below ``parent``."""
        active = self._active(_project(parent))
        if active is not None:
            from . import policy

            policy.check_list(
                *active, database, parent, collection_id, all_descendants, structured_query
            )

    def check_writes(
        self,
        database: Any,
        root: str,
        outcomes: Iterable[tuple[str, Any | None]],
        staged: Mapping[str, Any | None],
        commit_us: int | None = None,
    ) -> None:
        """Every write of one commit, with ``getAfter`` seeing the whole commit applied."""
        active = self._active(_project(root))
        if active is not None:
            from . import policy

            policy.check_writes(*active, database, outcomes, staged, commit_us)
