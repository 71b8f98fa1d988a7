"""Hooks and fixtures shared by the integration tests: the side-by-side Firestore runs."""

from side_by_side import (  # noqa: F401 -- hooks and fixtures
    firestore_target,
    official_firestore,
    pytest_collection_modifyitems,
    pytest_generate_tests,
    pytest_terminal_summary,
)
