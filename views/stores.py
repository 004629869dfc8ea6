"""Open a view store from its URL: the one place that maps configuration to an adapter.

- ``sqlite:///abs/path/catalog.db`` (or ``sqlite:///:memory:``): the embedded default, one machine;
  it creates its tables on open.
- ``cassandra://host:port[,host:port...]/keyspace?replication=3&consistency=LOCAL_QUORUM``: a
  Cassandra cluster (options in ``views.cassandra_cluster``); ``migrate_store`` (``tubestream views
  migrate``) creates or upgrades its schema, and a store refuses to open on any other version.

The search view also runs on Elasticsearch: ``http://host:port`` (or
``https://``, or ``elasticsearch://host:port``, which means http), with
``?index=alias`` and ``?refresh=wait_for|true|false``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar, cast
from urllib.parse import parse_qs, urlsplit

from views.catalog import CatalogStore
from views.playback import PlaybackStore
from views.recs import RecsStore
from views.search.model import SearchStore
from views.search.sqlite import SqliteSearchStore
from views.sqlite_catalog import SqliteCatalogStore
from views.sqlite_playback import SqlitePlaybackStore
from views.sqlite_recs import SqliteRecsStore

__all__ = [
    "SEARCH_SCHEMES",
    "SUPPORTED_SCHEMES",
    "check_search_url",
    "check_store_url",
    "migrate_store",
    "open_catalog_store",
    "open_for_this_loop",
    "open_playback_store",
    "open_recs_store",
    "open_search_store",
]

SUPPORTED_SCHEMES = ("sqlite", "cassandra")
VIEWS = ("catalog", "playback")
SEARCH_SCHEMES = ("sqlite", "http", "https", "elasticsearch")
S = TypeVar("S")
DEFAULT_SEARCH_INDEX = "tubestream-search"  # views.search.elasticsearch.DEFAULT_INDEX, without its import


def open_catalog_store(url: str, *, loop: asyncio.AbstractEventLoop | None = None) -> CatalogStore:
    """The catalog store ``url`` names; ``ValueError`` on a URL no adapter takes.

    Raises ``StoreUnavailableError`` when the URL is valid but the store cannot be opened,
    ``SchemaVersionError`` when a Cassandra keyspace needs ``tubestream views migrate``.
    ``loop``: the one loop that will read the store; a Cassandra store then does its I/O on it,
    and must be opened from another thread while that loop runs (``open_for_this_loop``).
    """
    if _scheme(url) == "cassandra":
        from views.cassandra_catalog import CassandraCatalogStore
        from views.cassandra_cluster import CassandraSettings

        return CassandraCatalogStore(CassandraSettings.from_url(url), loop=loop)
    return SqliteCatalogStore(_sqlite_path(url, "catalog"))


def open_playback_store(url: str, *, loop: asyncio.AbstractEventLoop | None = None) -> PlaybackStore:
    """The playback store ``url`` names; same URLs, ``loop`` and errors as ``open_catalog_store``."""
    if _scheme(url) == "cassandra":
        from views.cassandra_cluster import CassandraSettings
        from views.cassandra_playback import CassandraPlaybackStore

        return CassandraPlaybackStore(CassandraSettings.from_url(url), loop=loop)
    return SqlitePlaybackStore(_sqlite_path(url, "playback"))


async def open_for_this_loop(open_store: Callable[..., S], url: str) -> S:
    """``open_store(url)`` for the running loop alone: a Cassandra store's I/O then runs on it.

    The store is opened in a thread while this loop turns, since connecting needs the loop; a
    reader that awaits every statement on one loop (the query API) saves two thread hand-offs a read.
    """
    return await asyncio.to_thread(open_store, url, loop=asyncio.get_running_loop())


def open_recs_store(url: str) -> RecsStore:
    """The recommendations interactions store ``url`` names: SQLite only so far (``ValueError`` else)."""
    if _scheme(url) != "sqlite":
        raise ValueError(f"recs URL {url!r}: only sqlite:///path.db is supported for the interactions view")
    return SqliteRecsStore(_sqlite_path(url, "recs"))


def check_store_url(url: str, *, view: str) -> None:
    """``ValueError`` now for a URL no adapter takes, for a process that opens its store later."""
    if _scheme(url) == "cassandra":
        from views.cassandra_cluster import CassandraSettings

        CassandraSettings.from_url(url)
        return
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


def migrate_store(url: str, *, view: str) -> str:
    """Bring the store's schema up to this code's version; say what was done, in one line."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; views: {', '.join(VIEWS)}")
    if _scheme(url) != "cassandra":
        _sqlite_path(url, view)
        return f"{view}: {url} is SQLite, which creates its tables when opened: nothing to migrate"
    from views.cassandra_catalog import CATALOG_MIGRATIONS
    from views.cassandra_cluster import CassandraSettings, migrate
    from views.cassandra_playback import PLAYBACK_MIGRATIONS

    migrations = CATALOG_MIGRATIONS if view == "catalog" else PLAYBACK_MIGRATIONS
    report = migrate(CassandraSettings.from_url(url), view=view, migrations=migrations)
    if report.from_version == report.to_version:
        return f"{view}: {report.url} is at schema version {report.to_version}, nothing to do"
    return f"{view}: {report.url} migrated from schema version {report.from_version} to {report.to_version}"


def _scheme(url: str) -> str:
    return urlsplit(url).scheme


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
        f"{', '.join(s + '://' for s in SUPPORTED_SCHEMES)}"
    )
