"""Open a view store from its URL: the one place that maps configuration to an adapter.

``sqlite:///abs/path/catalog.db`` (or ``sqlite:///:memory:``) is the embedded
default. A Cassandra adapter (``cassandra://host:port/keyspace``) implements the
same contracts when the platform grows beyond one machine.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from views.catalog import CatalogStore
from views.playback import PlaybackStore
from views.sqlite_catalog import SqliteCatalogStore
from views.sqlite_playback import SqlitePlaybackStore

__all__ = ["SUPPORTED_SCHEMES", "open_catalog_store", "open_playback_store"]

SUPPORTED_SCHEMES = ("sqlite",)


def open_catalog_store(url: str) -> CatalogStore:
    return SqliteCatalogStore(_sqlite_path(url, "catalog"))


def open_playback_store(url: str) -> PlaybackStore:
    return SqlitePlaybackStore(_sqlite_path(url, "playback"))


def _sqlite_path(url: str, view: str) -> Path | str:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = parts.path
        if parts.netloc or not path or path == "/":
            raise ValueError(f"{view} URL {url!r}: expected sqlite:///absolute/path.db or sqlite:///:memory:")
        return ":memory:" if path == "/:memory:" else Path(path)
    raise ValueError(
        f"{view} URL {url!r}: unsupported scheme {parts.scheme!r}; supported: "
        f"{', '.join(s + '://' for s in SUPPORTED_SCHEMES)} (cassandra:// is planned, not built yet)"
    )
