"""Repositories: typed CRUD, queries and listeners over Firestore and the Realtime Database."""
