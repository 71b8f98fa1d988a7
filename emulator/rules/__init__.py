"""Security rules shared by both emulators: the expression lexer, parser and syntax errors.

Each service keeps its own semantics: Firestore's rules language in ``emulator.firestore.security``,
the Realtime Database's JSON rules in ``emulator.database.security``.
"""
