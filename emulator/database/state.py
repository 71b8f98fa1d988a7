"""All namespaces of one emulator: their trees, rules and listeners, and event fan-out.

Thread-safe: every read and write holds one lock, so conditional writes are atomic with their
check and listeners get events in write order. Listeners are notified (their events queued)
before a write returns, hence before its HTTP response is sent.

Besides the SSE ``Listener`` objects, other wire layers (the WebSocket protocol) observe writes
through *write hooks*: ``hook(ns, tree, write)`` runs under the lock after every successful
write, in write order, and must only queue work (never block or write).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from emulator.database.events import Event, Relation, derive, relation
from emulator.database.listeners import Listener
from emulator.database.paths import Path
from emulator.database.pushid import PushIdGenerator
from emulator.database.query import render_selection
from emulator.database.rules import DEFAULT_RULES, parse_rules
from emulator.database.security import NamespaceRules
from emulator.database.tree import Authorize, Tree, Write
from emulator.database.values import Json, canonical


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


WriteHook = Callable[[str, Tree, Write], None]


@dataclass
class Namespace:
    """One database: data plus the listeners watching it."""

    tree: Tree
    listeners: list[Listener] = field(default_factory=list)


class DatabaseState:
    """Every namespace, created on first use."""

    def __init__(self, rules_text: str | None = None, clock_ms: Callable[[], int] = _now_ms):
        if rules_text is not None:
            parse_rules(rules_text)
        self._default_rules = rules_text if rules_text is not None else DEFAULT_RULES
        self._default_security = NamespaceRules(self._default_rules)
        self._security: dict[str, NamespaceRules] = {}
        self._clock_ms = clock_ms
        self._lock = threading.RLock()
        self._namespaces: dict[str, Namespace] = {}
        self._rules: dict[str, str] = {}
        self.push_id = PushIdGenerator(clock_ms)
        self._write_hooks: list[WriteHook] = []

    # ------------------------------------------------------------------------ namespaces

    def names(self) -> list[str]:
        """Namespaces in creation order."""
        with self._lock:
            return list(self._namespaces)

    @property
    def lock(self) -> threading.RLock:
        """The lock every access holds; hold it across several calls that must be atomic."""
        return self._lock

    def tree(self, ns: str) -> Tree:
        """The tree of ``ns`` (created on first use). Hold ``lock`` while using it."""
        with self._lock:
            return self._namespace(ns).tree

    def _namespace(self, ns: str) -> Namespace:
        space = self._namespaces.get(ns)
        if space is None:
            space = self._namespaces[ns] = Namespace(Tree(self._clock_ms))
        return space

    # ------------------------------------------------------------------------ writes

    def write(self, ns: str, path: Path, op: Callable[[Tree], Write]) -> Write:
        """Run ``op`` (a write at ``path`` or below) and queue the listeners' events.

        Whatever ``op`` raises propagates, with nothing changed and nothing sent.
        """
        with self._lock:
            space = self._namespace(ns)
            watchers = [
                (listener, where)
                for listener in space.listeners
                if (where := relation(listener.path, path)) is not Relation.UNRELATED
            ]
            before = {
                id(listener): space.tree.get(listener.path)
                for listener, where in watchers
                if where is Relation.ABOVE and listener.query is None
            }
            change = op(space.tree)
            for listener, where in watchers:
                if listener.query is not None:
                    self._refresh_query_listener(space.tree, listener)
                    continue
                if where is Relation.ABOVE:
                    event = derive(
                        listener.path,
                        change,
                        before[id(listener)],
                        space.tree.get(listener.path),
                    )
                else:
                    event = derive(listener.path, change)
                if event is not None:
                    listener.offer(event)
            for hook in self._write_hooks:
                hook(ns, space.tree, change)
            return change

    def add_write_hook(self, hook: WriteHook) -> None:
        """Call ``hook(ns, tree, write)`` after every write (see the module docstring)."""
        with self._lock:
            self._write_hooks.append(hook)

    def remove_write_hook(self, hook: WriteHook) -> None:
        """Stop calling ``hook`` (idempotent)."""
        with self._lock:
            if hook in self._write_hooks:
                self._write_hooks.remove(hook)

    def push(
        self, ns: str, path: Path, value: Json, authorize: Authorize | None = None
    ) -> tuple[str, Write]:
        """Store ``value`` under a new push ID below ``path``; return the ID and the write."""
        with self._lock:
            name = self.push_id()
            child = (*path, name)
            return name, self.write(
                ns, child, lambda tree: tree.set(child, value, authorize=authorize)
            )

    def reset(self) -> None:
        """Delete all data; namespaces nobody listens to are forgotten."""
        with self._lock:
            for ns in list(self._namespaces):
                self.write(ns, (), lambda tree: tree.set((), None))
                if not self._namespaces[ns].listeners:
                    del self._namespaces[ns]

    def load(self, ns: str, data: Json) -> None:
        """Replace the data of ``ns`` with ``data`` (export format welcome)."""
        self.write(ns, (), lambda tree: tree.set((), data))

    def export_json(self, ns: str) -> str | None:
        """The export JSON of ``ns``, or ``None`` when it holds no data."""
        with self._lock:
            root = self._namespace(ns).tree.node(())
            return None if root is None else canonical(root)

    # ------------------------------------------------------------------------ listeners

    def subscribe(self, ns: str, listener: Listener) -> None:
        """Register ``listener`` and queue its initial ``put "/"`` atomically with later events."""
        with self._lock:
            space = self._namespace(ns)
            if listener.query is not None:
                self._refresh_query_listener(space.tree, listener, force=True)
            else:
                listener.offer(Event("put", "/", space.tree.get(listener.path)))
            space.listeners.append(listener)

    def unsubscribe(self, ns: str, listener: Listener) -> None:
        """Forget ``listener`` (idempotent)."""
        with self._lock:
            space = self._namespaces.get(ns)
            if space is not None and listener in space.listeners:
                space.listeners.remove(listener)

    def listeners(self) -> list[Listener]:
        """Every registered listener, all namespaces."""
        with self._lock:
            return [listener for space in self._namespaces.values() for listener in space.listeners]

    @staticmethod
    def _refresh_query_listener(tree: Tree, listener: Listener, force: bool = False) -> None:
        # A filtered view changes non-locally (a write may move children in or out of the
        # window), so such listeners always get their whole new result as put "/".
        assert listener.query is not None
        node = tree.node(listener.path)
        value = render_selection(node, tree.select(listener.path, listener.query))
        text = canonical(value)
        if force or text != listener.last_sent:
            listener.last_sent = text
            listener.offer(Event("put", "/", value))

    # ------------------------------------------------------------------------ rules

    def rules(self, ns: str) -> str:
        """The rules text of ``ns``, as it was given."""
        with self._lock:
            return self._rules.get(ns, self._default_rules)

    def set_rules(self, ns: str, text: str) -> None:
        """Compile and install rules for ``ns``; raises ``INVALID_ARGUMENT`` (naming the line)
        if they do not compile, and the previous rules stay in force."""
        parse_rules(text)
        compiled = NamespaceRules(text)
        with self._lock:
            self._namespace(ns)
            self._rules[ns] = text
            self._security[ns] = compiled

    def security(self, ns: str) -> NamespaceRules:
        """The compiled rules in force for ``ns``."""
        with self._lock:
            return self._security.get(ns, self._default_security)

    def now_ms(self) -> int:
        """The clock rules see as ``now``."""
        return self._clock_ms()
