"""Open a view store from its URL: the one place that maps configuration to an adapter.

``sqlite:///abs/path/catalog.db`` (or ``sqlite:///:memory:``) is the embedded
default. A Cassandra adapter (``cassandra://host:port/keyspace``) implements the
same contracts when the platform grows beyond one machine.

The search view also runs on Elasticsearch: ``http://host:port`` (or
``https://``, or ``elasticsearch://host:port``, which means http), with
``?index=alias`` and ``?refresh=wait_for|true|false``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast
from urllib.parse import parse_qs, urlsplit

from views.catalog import CatalogStore
from views.playback import PlaybackStore
from views.search.model import SearchStore
from views.search.sqlite import SqliteSearchStore
from views.sqlite_catalog import SqliteCatalogStore
from views.sqlite_playback import SqlitePlaybackStore

__all__ = [
    "SEARCH_SCHEMES",
    "SUPPORTED_SCHEMES",
    "check_search_url",
    "check_store_url",
    "open_catalog_store",
    "open_playback_store",
    "open_search_store",
]

SUPPORTED_SCHEMES = ("sqlite",)
SEARCH_SCHEMES = ("sqlite", "http", "https", "elasticsearch")
DEFAULT_SEARCH_INDEX = "tubestream-search"  # views.search.elasticsearch.DEFAULT_INDEX, without its import


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


def open_search_store(url: str) -> SearchStore:
    """The search store ``url`` names; ``ValueError`` on a URL no adapter takes.

    ``sqlite:///abs/path/search.db``, or an Elasticsearch URL (see the module docstring).
    Nothing is contacted here: an unreachable server fails the first call with
    ``StoreUnavailableError``.
    """
    target = _search_target(url)
    if isinstance(target, _EsTarget):
        # imported here: the client (and aiohttp under it) costs every process that opens a catalog
        from views.search.elasticsearch import ElasticsearchSearchStore

        return ElasticsearchSearchStore(target.base_url, index=target.index, refresh=target.refresh)
    return SqliteSearchStore(target)


def check_search_url(url: str) -> None:
    """``ValueError`` now for a search URL no adapter takes; opens nothing."""
    _search_target(url)


@dataclass(frozen=True)
class _EsTarget:
    base_url: str
    index: str
    refresh: Literal["wait_for", "true", "false"]


def _search_target(url: str) -> Path | str | _EsTarget:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return _sqlite_path(url, "search")
    if parts.scheme not in SEARCH_SCHEMES:
        raise ValueError(
            f"search URL {url!r}: unsupported scheme {parts.scheme!r}; supported: "
            f"{', '.join(s + '://' for s in SEARCH_SCHEMES)}"
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"search URL {url!r}: {exc}") from None
    if not parts.hostname or port is None or parts.path not in ("", "/") or parts.fragment or parts.username:
        raise ValueError(f"search URL {url!r}: expected {parts.scheme}://host:port[?index=...&refresh=...]")
    options = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    unknown = set(options) - {"index", "refresh"}
    if unknown or any(len(values) != 1 for values in options.values()):
        raise ValueError(f"search URL {url!r}: takes ?index= and ?refresh= once each, got {parts.query!r}")
    index = options.get("index", [DEFAULT_SEARCH_INDEX])[0]
    if not index or index != index.lower() or any(c in index for c in ' "*\\<|,>/?#:'):
        raise ValueError(f"search URL {url!r}: {index!r} is not an Elasticsearch index name")
    refresh = options.get("refresh", ["wait_for"])[0]
    if refresh not in ("wait_for", "true", "false"):
        raise ValueError(f"search URL {url!r}: refresh must be wait_for, true or false")
    scheme = "http" if parts.scheme == "elasticsearch" else parts.scheme
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return _EsTarget(f"{scheme}://{host}:{port}", index, cast(Literal["wait_for", "true", "false"], refresh))


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
