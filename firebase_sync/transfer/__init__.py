"""Export and import of Firestore collections and RTDB paths as a directory of JSON files.

Streaming both ways (one page of documents in memory, whatever the size of the data), atomic
on the way out, checked on the way in. The ``firebase-sync export`` / ``import`` commands are
thin wrappers around :func:`export_directory` and :func:`import_directory`.

The directory::

    EXPORT/
      manifest.json                       written last: its presence means the export is whole
      0001-firestore-products.jsonl       one file per exported source, in the order asked
      0002-rtdb-products.jsonl

``manifest.json``::

    {"format": "firebase-sync-transfer", "version": 1, "created": "2025-01-01T12:00:00Z",
     "entries": [{"kind": "firestore", "path": "products", "file": "0001-firestore-products.jsonl",
                  "count": 1200, "bytes": 183422, "sha256": "..."},
                 {"kind": "rtdb", "path": "/products", "file": "0002-rtdb-products.jsonl", ...}]}

Each ``.jsonl`` file holds one JSON object per line (UTF-8):

* Firestore: ``{"path": "products/p1", "fields": {...}}`` for every document of the collection
  and of its subcollections at any depth (``"products/p1/reviews/r1"``), paths relative to the
  database root, in document-name order. Field values use the lossless JSON mapping of
  :mod:`firebase_sync._wire.firestore_values` (``{"$timestamp": ...}``, ``{"$bytes": ...}``,
  ``{"$geopoint": [lat, lng]}``, ``{"$reference": "users/u1"}``, ...). Documents that do not
  exist but have subcollections are not written: importing their descendants recreates them.
* RTDB: ``{"key": "p1", "value": <JSON>}`` per child of the path, in Firebase key order; a path
  holding a plain value is a single ``{"value": <JSON>}``.

Importing writes every document (replacing one with the same path) and every child (replacing
it whole) and leaves everything else in place; it refuses a directory without a manifest and
files whose size or SHA-256 differ from it, before writing anything.
"""

from .files import Entry, Manifest, TransferError, read_manifest
from .firestore import FirestoreTransfer
from .jobs import Reporter, Source, export_directory, import_directory
from .rtdb import RtdbTransfer

__all__ = [
    "Entry",
    "FirestoreTransfer",
    "Manifest",
    "Reporter",
    "RtdbTransfer",
    "Source",
    "TransferError",
    "export_directory",
    "import_directory",
    "read_manifest",
]
