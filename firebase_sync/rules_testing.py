"""Security-rules testing from Python: act as a user against the emulators, assert outcomes.

A ``RulesTestEnvironment`` loads rules into the emulators of a test session and hands out
``RulesTestContext`` objects, each acting as one caller: a signed-in user (uid and custom
claims), nobody, or the administrator (rules disabled, for seeding). A context gives the
official clients (``firestore()``, ``async_firestore()``, ``database()``) and the kit's
repositories, all acting as that caller; ``assert_succeeds`` / ``assert_fails`` check what the
rules decided. The pytest plugin provides an environment as the ``rules_env`` fixture.

Emulators only: the environment refuses hosts that do not answer like an emulator.
"""

from __future__ import annotations

import base64
import inspect
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    import firebase_admin
    from firebase_admin import db
    from google.cloud import firestore
    from google.cloud.firestore_v1.async_client import AsyncClient

    from firebase_sync.adapters.firestore import FirestoreRepository
    from firebase_sync.adapters.realtime import RealtimeRepository
    from firebase_sync.models import Document

T = TypeVar("T")
M = TypeVar("M", bound="Document")
ADMIN_TOKEN = "owner"
_OPEN = (
    "rules_version = '2';\nservice cloud.firestore {\n  match /{path=**} {\n"
    "    allow read, write: if true;\n  }\n}\n"
)


class RulesLoadError(ValueError):
    """The emulator refused a rules file; the message names the line and column."""


def mock_user_token(uid: str, project: str, claims: Mapping[str, Any] | None = None) -> str:
    """An unsigned JWT (``alg: none``) for ``uid``, as the emulators accept and as
    ``@firebase/rules-unit-testing`` builds them."""

    def part(data: Mapping[str, Any]) -> str:
        raw = json.dumps(dict(data), separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    payload: dict[str, Any] = {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": project,
        "iat": 0,
        "exp": 4_102_444_800,
        "auth_time": 0,
        "sub": uid,
        "user_id": uid,
        "firebase": {"sign_in_provider": "custom", "identities": {}},
    }
    payload.update(claims or {})
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


class RulesTestContext:
    """Clients and repositories acting as one caller (see the module docstring)."""

    def __init__(
        self,
        env: RulesTestEnvironment,
        token: str | None,
        auth: Mapping[str, Any] | None,
    ) -> None:
        self.env = env
        #: the bearer token sent to Firestore: ``None`` for nobody, ``"owner"`` for the admin.
        self.token = token
        #: ``auth`` as Realtime Database rules see it (``None`` for nobody).
        self.auth = dict(auth) if auth is not None else None
        self._apps: list[firebase_admin.App] = []
        self._closers: list[Callable[[], Any]] = []

    @property
    def is_admin(self) -> bool:
        """Whether this context bypasses the rules."""
        return self.token == ADMIN_TOKEN

    def firestore(self) -> firestore.Client:
        """A ``google.cloud.firestore.Client`` acting as this caller."""
        from firebase_sync.adapters._acting_client import acting_client

        client = acting_client(self.env.project, self.token)
        self._closers.append(client.close)
        return client

    def async_firestore(self) -> AsyncClient:
        """A ``google.cloud.firestore.AsyncClient`` acting as this caller."""
        from firebase_sync.adapters._acting_client import acting_async_client

        return acting_async_client(self.env.project, self.token)

    def database_app(self) -> firebase_admin.App:
        """A firebase-admin ``App`` whose database calls act as this caller."""
        import firebase_admin

        options: dict[str, Any] = {
            "projectId": self.env.project,
            "databaseURL": self.env.database_url,
        }
        if not self.is_admin:
            options["databaseAuthVariableOverride"] = self.auth
        app = firebase_admin.initialize_app(
            options=options, name=f"rules-{uuid.uuid4().hex[:12]}"
        )
        self._apps.append(app)
        return app

    def database(self, path: str = "/") -> db.Reference:
        """A firebase-admin RTDB ``Reference`` acting as this caller."""
        from firebase_admin import db

        return db.reference(path, app=self.database_app())

    def firestore_repository(
        self, model: type[M], collection: str, **options: Any
    ) -> FirestoreRepository[M]:
        """The kit's Firestore repository acting as this caller."""
        from firebase_sync.adapters.firestore import FirestoreRepository

        return FirestoreRepository(model, collection, client=self.async_firestore(), **options)

    def realtime_repository(
        self, model: type[M], path: str, **options: Any
    ) -> RealtimeRepository[M]:
        """The kit's Realtime Database repository acting as this caller."""
        from firebase_sync.adapters.realtime import RealtimeRepository

        return RealtimeRepository(model, path, app=self.database_app(), **options)

    def close(self) -> None:
        """Release the apps and clients this context made."""
        import firebase_admin

        for app in self._apps:
            firebase_admin.delete_app(app)
        self._apps.clear()
        for close in self._closers:
            close()
        self._closers.clear()


class RulesTestEnvironment:
    """Rules and callers for one test session's emulators."""

    def __init__(self, project: str, firestore_host: str, database_host: str,
                 database_namespace: str) -> None:
        self.project = project
        self.firestore_host = firestore_host
        self.database_host = database_host
        self.database_namespace = database_namespace
        self._contexts: list[RulesTestContext] = []

    @property
    def database_url(self) -> str:
        """The emulator URL of the test namespace, for firebase-admin's ``databaseURL``."""
        return f"http://{self.database_host}?ns={self.database_namespace}"

    # ---------------------------------------------------------------------------------- rules
    def load_firestore_rules(self, source: str) -> None:
        """Install Firestore rules for the project; raises ``RulesLoadError`` when refused."""
        body = json.dumps({"rules": {"files": [{"name": "firestore.rules", "content": source}]}})
        self._send(
            "PUT",
            f"http://{self.firestore_host}/emulator/v1/projects/{self.project}:securityRules",
            body.encode(),
            {"Content-Type": "application/json"},
        )

    def load_database_rules(self, rules: str | Mapping[str, Any]) -> None:
        """Install Realtime Database rules (text, or the ``{"rules": ...}`` object)."""
        text = rules if isinstance(rules, str) else json.dumps(dict(rules))
        self._send(
            "PUT",
            f"http://{self.database_host}/.settings/rules.json?ns={self.database_namespace}",
            text.encode(),
            {"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )

    def current_rules(self) -> tuple[str | None, str | None]:
        """The Firestore and Realtime Database rules in force (``None``: none loaded)."""
        firestore_rules: str | None = None
        with urllib.request.urlopen(  # noqa: S310 (emulator only)
            f"http://{self.firestore_host}/emulator/v1/projects/{self.project}:securityRules",
            timeout=30,
        ) as response:
            body = json.loads(response.read() or b"{}")
        files = body.get("rules", {}).get("files", []) if isinstance(body, dict) else []
        if files:
            firestore_rules = files[0].get("content")
        request = urllib.request.Request(
            f"http://{self.database_host}/.settings/rules.json?ns={self.database_namespace}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            database_rules = response.read().decode("utf-8")
        return firestore_rules, database_rules

    def restore_rules(self, saved: tuple[str | None, str | None]) -> None:
        """Put back what ``current_rules`` returned (open Firestore rules when there were none)."""
        firestore_rules, database_rules = saved
        self.load_firestore_rules(firestore_rules if firestore_rules is not None else _OPEN)
        if database_rules is not None:
            self.load_database_rules(database_rules)

    @staticmethod
    def _send(method: str, url: str, body: bytes, headers: dict[str, str]) -> None:
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30):  # noqa: S310 (emulator only)
                return
        except urllib.error.HTTPError as exc:
            with exc:
                detail = exc.read().decode("utf-8", "replace")
            try:
                error = json.loads(detail)["error"]
                detail = error["message"] if isinstance(error, dict) else str(error)
            except (ValueError, KeyError, TypeError):
                pass
            raise RulesLoadError(detail) from None

    # ------------------------------------------------------------------------------- callers
    def authenticated_context(
        self, uid: str, claims: Mapping[str, Any] | None = None
    ) -> RulesTestContext:
        """A caller signed in as ``uid`` with custom ``claims`` (``request.auth.token.*``)."""
        token = mock_user_token(uid, self.project, claims)
        token_claims = json.loads(
            base64.urlsafe_b64decode(token.split(".")[1] + "==").decode("utf-8")
        )
        auth = {"uid": uid, "provider": "custom", "token": token_claims}
        return self._remember(RulesTestContext(self, token, auth))

    def unauthenticated_context(self) -> RulesTestContext:
        """A caller that is not signed in (``request.auth == null``)."""
        return self._remember(RulesTestContext(self, None, None))

    @contextmanager
    def security_rules_disabled(self) -> Iterator[RulesTestContext]:
        """The administrator, for seeding data past the rules."""
        context = RulesTestContext(self, ADMIN_TOKEN, None)
        try:
            yield context
        finally:
            context.close()

    def _remember(self, context: RulesTestContext) -> RulesTestContext:
        self._contexts.append(context)
        return context

    def cleanup(self) -> None:
        """Close every context handed out."""
        for context in self._contexts:
            context.close()
        self._contexts.clear()


def is_permission_denied(error: BaseException) -> bool:
    """Whether ``error`` is a rules refusal, from any of the clients a context hands out."""
    from firebase_sync.errors import PermissionDenied

    if isinstance(error, PermissionDenied):
        return True
    code = getattr(error, "code", None)
    grpc_status = getattr(error, "grpc_status_code", None)
    if grpc_status is not None and getattr(grpc_status, "name", "") == "PERMISSION_DENIED":
        return True
    if code in (403, "PERMISSION_DENIED"):
        return True
    # firebase-admin reports the Realtime Database's 401 "Permission denied" as UNAUTHENTICATED.
    return code == "UNAUTHENTICATED" and "permission denied" in str(error).lower()


@overload
def assert_succeeds(operation: Awaitable[T]) -> Awaitable[T]: ...
@overload
def assert_succeeds(operation: Callable[[], T]) -> T: ...
def assert_succeeds(operation: Awaitable[T] | Callable[[], T]) -> Awaitable[T] | T:
    """Run ``operation`` (a zero-argument callable, or an awaitable to await) and return its
    result; a rules refusal fails the test with the emulator's explanation."""
    if inspect.isawaitable(operation):
        return _succeeds_async(operation)
    assert callable(operation)
    try:
        return operation()
    except Exception as exc:
        raise AssertionError(f"Expected the request to succeed, but it failed: {exc}") from exc


async def _succeeds_async(operation: Awaitable[T]) -> T:
    try:
        return await operation
    except Exception as exc:
        raise AssertionError(f"Expected the request to succeed, but it failed: {exc}") from exc


@overload
def assert_fails(operation: Awaitable[Any]) -> Awaitable[BaseException]: ...
@overload
def assert_fails(operation: Callable[[], Any]) -> BaseException: ...
def assert_fails(
    operation: Awaitable[Any] | Callable[[], Any],
) -> Awaitable[BaseException] | BaseException:
    """Run ``operation`` and return the permission error it raised; succeeding, or failing for
    another reason, fails the test."""
    if inspect.isawaitable(operation):
        return _fails_async(operation)
    assert callable(operation)
    try:
        operation()
    except Exception as exc:
        return _refusal(exc)
    raise AssertionError("Expected the request to fail, but it succeeded")


async def _fails_async(operation: Awaitable[Any]) -> BaseException:
    try:
        await operation
    except Exception as exc:
        return _refusal(exc)
    raise AssertionError("Expected the request to fail, but it succeeded")


def _refusal(exc: BaseException) -> BaseException:
    if not is_permission_denied(exc):
        raise AssertionError(f"Expected a permission error, got {exc!r}") from exc
    return exc
