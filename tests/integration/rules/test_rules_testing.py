"""The Python rules-testing contexts (``rules_env``): official clients and the kit's
repositories acting as users, against rules on both databases."""

from __future__ import annotations

import asyncio

import pytest

from firebase_sync import ChangeStream, Document
from firebase_sync.errors import PermissionDenied
from firebase_sync.rules_testing import (
    RulesLoadError,
    RulesTestEnvironment,
    assert_fails,
    assert_succeeds,
)

FIRESTORE_RULES = """rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /notes/{note} {
      allow read: if request.auth != null && resource.data.owner == request.auth.uid;
      allow create: if request.auth != null && request.resource.data.owner == request.auth.uid;
    }
    match /admin/{doc} {
      allow read, write: if request.auth.token.admin == true;
    }
  }
}
"""
DATABASE_RULES = {
    "rules": {
        "users": {"$uid": {".read": "auth.uid === $uid", ".write": "auth.uid === $uid"}},
        "notes": {"$note": {".read": "data.child('owner').val() === auth.uid",
                            ".write": "newData.child('owner').val() === auth.uid"}},
    }
}


class Note(Document):
    owner: str
    text: str = ""


def test_firestore_clients_act_as_users(rules_env: RulesTestEnvironment) -> None:
    rules_env.load_firestore_rules(FIRESTORE_RULES)
    with rules_env.security_rules_disabled() as admin:
        admin.firestore().document("notes/bobs").set({"owner": "bob"})
    alice = rules_env.authenticated_context("alice")
    boss = rules_env.authenticated_context("carol", {"admin": True})
    nobody = rules_env.unauthenticated_context()
    db = alice.firestore()
    assert_succeeds(lambda: db.document("notes/a1").set({"owner": "alice"}))
    assert_fails(lambda: db.document("notes/a2").set({"owner": "bob"}))
    assert_fails(lambda: db.document("notes/bobs").get())
    assert_succeeds(lambda: db.collection("notes").where("owner", "==", "alice").get())
    assert_fails(lambda: db.collection("notes").get())
    assert_fails(lambda: nobody.firestore().document("notes/a1").get())
    assert_succeeds(lambda: boss.firestore().document("admin/x").set({"n": 1}))
    assert_fails(lambda: db.document("admin/x").get())


def test_database_references_act_as_users(rules_env: RulesTestEnvironment) -> None:
    rules_env.load_database_rules(DATABASE_RULES)
    alice = rules_env.authenticated_context("alice")
    nobody = rules_env.unauthenticated_context()
    assert_succeeds(lambda: alice.database("/users/alice").set({"name": "A"}))
    assert_fails(lambda: alice.database("/users/bob").set({"name": "B"}))
    assert alice.database("/users/alice/name").get() == "A"
    assert_fails(lambda: nobody.database("/users/alice").get())
    with rules_env.security_rules_disabled() as admin:
        assert admin.database("/users").get() == {"alice": {"name": "A"}}


def test_bad_rules_raise_with_a_position(rules_env: RulesTestEnvironment) -> None:
    with pytest.raises(RulesLoadError, match="L2:"):
        rules_env.load_firestore_rules(
            "service cloud.firestore {\n  match /x { allow read: if (; }\n}"
        )
    with pytest.raises(RulesLoadError, match="Line 1"):
        rules_env.load_database_rules('{"rules": {".read": "auth.uid =="}}')


async def test_kit_repositories_act_as_users(rules_env: RulesTestEnvironment) -> None:
    rules_env.load_firestore_rules(FIRESTORE_RULES)
    rules_env.load_database_rules(DATABASE_RULES)
    alice = rules_env.authenticated_context("alice")
    async with alice.firestore_repository(Note, "notes") as notes:
        await assert_succeeds(notes.set(Note(id="n1", owner="alice")))
        error = await assert_fails(notes.set(Note(id="n2", owner="bob")))
        assert isinstance(error, PermissionDenied)
        assert (await notes.get("n1")) == Note(id="n1", owner="alice")
    async with alice.realtime_repository(Note, "/notes") as rtdb_notes:
        await assert_succeeds(rtdb_notes.set(Note(id="n1", owner="alice")))
        error = await assert_fails(rtdb_notes.set(Note(id="n2", owner="bob")))
        assert isinstance(error, PermissionDenied)


async def test_a_listener_denied_by_rules_raises_permission_denied(
    rules_env: RulesTestEnvironment,
) -> None:
    rules_env.load_firestore_rules(FIRESTORE_RULES)
    rules_env.load_database_rules(DATABASE_RULES)
    alice = rules_env.authenticated_context("alice")
    async with alice.firestore_repository(Note, "notes") as notes:
        stream = ChangeStream(notes.listener())
        with pytest.raises(PermissionDenied):
            async with asyncio.timeout(20):
                async for _ in stream:
                    pass
        await stream.aclose()
    async with alice.realtime_repository(Note, "/notes") as rtdb_notes:
        stream = ChangeStream(rtdb_notes.listener())
        with pytest.raises(PermissionDenied):
            async with asyncio.timeout(20):
                async for _ in stream:
                    pass
        await stream.aclose()
