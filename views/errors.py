"""Errors of the view stores.

    ViewStoreError
    ├── StoreUnavailableError   the backing store cannot be reached or opened
    └── SchemaVersionError      the store's schema is not the version this code reads (migrate, or upgrade)

Driver errors (sqlite3, cassandra-driver, elasticsearch) are translated into
these at the store's edge, so readers handle one hierarchy.
"""

from __future__ import annotations

__all__ = ["SchemaVersionError", "StoreUnavailableError", "ViewStoreError"]


class ViewStoreError(Exception):
    """Base of every error raised by ``views``."""


class StoreUnavailableError(ViewStoreError):
    """The store cannot serve requests right now."""


class SchemaVersionError(ViewStoreError):
    """The store holds an older (or newer) schema than this code: retrying will not help, migrating will."""
