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

__all__ = ["SUPPORTED_SCHEMES", "check_store_url", "open_catalog_store", "open_playback_store"]

SUPPORTED_SCHEMES = ("sqlite",)


def open_catalog_store(url: str) -> CatalogStore:
    """The catalog store ``url`` names; ``ValueError`` on a URL no adapter takes.

    Raises ``StoreUnavailableError`` when the URL is valid but the store cannot be opened.
    """
    return SqliteCatalogStore(_sqlite_path(url, "catalog"))


def open_playback_store(url: str) -> PlaybackStore:
    """The playback store ``url`` names; same URLs and errors as ``open_catalog_store``."""
    return SqlitePlaybackStore(_sqlite_path(url, "playback"))


def check_store_url(url: str, *, view: str) -> None:
    """``ValueError`` now for a URL no adapter takes, for a process that opens its store later."""
    _sqlite_path(url, view)


def _sqlite_path(url: str, view: str) -> Path | str:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = parts.path
        if parts.netloc or not path or path == "/":
            raise ValueError(f"{view} URL {url!r}: expected sqlite:///absolute/path.db or sqlite:///:memory:")
        if parts.query or parts.fragment:  # would be dropped silently, or cut a path holding ? or #
            raise ValueError(f"{view} URL {url!r}: sqlite URLs take no ?query or #fragment")
        return ":memory:" if path == "/:memory:" else Path(path)
    raise ValueError(
        f"{view} URL {url!r}: unsupported scheme {parts.scheme!r}; supported: "
        f"{', '.join(s + '://' for s in SUPPORTED_SCHEMES)} (cassandra:// is planned, not built yet)"
    )
