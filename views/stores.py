"""Open a view store from its URL: the one place that maps configuration to an adapter.

``sqlite:///abs/path/catalog.db`` (or ``sqlite:///:memory:``) is the embedded
default. A Cassandra adapter (``cassandra://host:port/keyspace``) implements the
same ``CatalogStore`` contract when the platform grows beyond one machine.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from views.catalog import CatalogStore
from views.sqlite_catalog import SqliteCatalogStore

__all__ = ["SUPPORTED_SCHEMES", "open_catalog_store"]

SUPPORTED_SCHEMES = ("sqlite",)


def open_catalog_store(url: str) -> CatalogStore:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = parts.path
        if parts.netloc or not path or path == "/":
            raise ValueError(
                f"catalog URL {url!r}: expected sqlite:///absolute/path.db or sqlite:///:memory:"
            )
        if path == "/:memory:":
            return SqliteCatalogStore(":memory:")
        return SqliteCatalogStore(Path(path))
    raise ValueError(
        f"catalog URL {url!r}: unsupported scheme {parts.scheme!r}; supported: "
        f"{', '.join(s + '://' for s in SUPPORTED_SCHEMES)} (cassandra:// is planned, not built yet)"
    )
