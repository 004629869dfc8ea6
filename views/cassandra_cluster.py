"""What the Cassandra view stores share: their URL, one connection, async queries, errors, schema versions.

    cassandra://[user:password@]host[:port][,host[:port]...]/keyspace[?option=value&...]

- ``replication`` (``1``): how ``tubestream views migrate`` creates the keyspace: ``3``
  (SimpleStrategy) or ``dc1:3,dc2:3`` (NetworkTopologyStrategy, per data centre)
- ``consistency`` (``LOCAL_QUORUM``): reads and writes of the views (boards are read at
  ``LOCAL_ONE``: see ``views.cassandra_playback``)
- ``local_dc`` (the first contact point's): the data centre whose replicas serve this process
- ``connect_timeout`` (``5``), ``request_timeout`` (``10``): seconds to connect, and for one query
- ``protocol`` (``5``): the native protocol, 5 for Cassandra 4.0 and later, 4 for 3.x

Statements are prepared once and routed by token (``TokenAwarePolicy`` over
``DCAwareRoundRobinPolicy``), so a read or write goes straight to a replica
of its partition. The driver's futures are settled on the asyncio loop, not
waited on in threads: a store serves many requests at once from one process.
A store opened for a loop (``loop=``, as the query API does) does its socket
I/O on that loop (``views.cassandra_loop``), so a read never leaves the
thread that awaits it; otherwise the driver's reactor thread does the I/O and
hands each answer over with ``call_soon_threadsafe``.

Driver errors become ``views.errors`` here, at the edge: the cluster
unreachable, timeouts and too few replicas are ``StoreUnavailableError``
(retry later); a statement Cassandra refuses is a ``ViewStoreError`` (a bug:
no retry).

Schemas are versioned per view in ``schema_versions``; a store refuses to
open a keyspace whose version is not its own (``SchemaVersionError``, which
names the command to run), and ``migrate`` brings a keyspace up to date.
Every migration step is idempotent (``IF NOT EXISTS``), so running it twice,
or after a crash halfway, is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from cassandra import (
    AuthenticationFailed,
    ConsistencyLevel,
    DriverException,
    RequestValidationException,
    Unauthorized,
)
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable, Session
from cassandra.connection import ConnectionException
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import BatchStatement, BatchType, PreparedStatement, tuple_factory

from views.cassandra_loop import connection_class_for, on_loop
from views.errors import SchemaVersionError, StoreUnavailableError, ViewStoreError

__all__ = [
    "DEFAULT_PORT",
    "CassandraConnection",
    "CassandraSettings",
    "Migration",
    "MigrationReport",
    "migrate",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_PORT = 9042
VERSION_TABLE = "schema_versions"
MAX_IN_FLIGHT = 128  # statements one call keeps in flight: enough to fill a pipe, not a node's queue
_DDL_TIMEOUT_S = 60.0  # a schema change waits for every node to agree on it
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,47}")  # a keyspace or data centre Cassandra accepts unquoted
_DC = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_DRIVER_ERRORS = (NoHostAvailable, DriverException, ConnectionException, OSError)


@dataclass(frozen=True, kw_only=True)
class CassandraSettings:
    """A ``cassandra://`` URL, parsed and checked; ``ValueError`` says what is wrong with one."""

    contact_points: tuple[tuple[str, int], ...]
    keyspace: str
    replication: tuple[tuple[str, int], ...] = (("", 1),)  # ("", n): SimpleStrategy; else (dc, n) pairs
    consistency: int = ConsistencyLevel.LOCAL_QUORUM
    local_dc: str | None = None
    connect_timeout_s: float = 5.0
    request_timeout_s: float = 10.0
    protocol_version: int = 5
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> CassandraSettings:
        parts = urlsplit(url)
        if parts.scheme != "cassandra":
            raise ValueError(f"{url!r} is not a cassandra:// URL")
        userinfo, _, hosts = parts.netloc.rpartition("@")
        username = password = None
        if userinfo:
            user, _, secret = userinfo.partition(":")
            username, password = unquote(user), unquote(secret)
        keyspace = parts.path.strip("/")
        if not _NAME.fullmatch(keyspace):
            raise ValueError(
                f"{_safe(url)}: expected cassandra://host[:port][,host[:port]...]/keyspace, with a keyspace "
                f"of letters, digits and _ (got {keyspace!r})"
            )
        options = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False))
        unknown = set(options) - {
            "replication",
            "consistency",
            "local_dc",
            "connect_timeout",
            "request_timeout",
            "protocol",
        }
        if unknown:
            raise ValueError(f"{_safe(url)}: unknown option(s) {', '.join(sorted(unknown))}")
        consistency_name = options.get("consistency", "LOCAL_QUORUM").upper()
        if consistency_name not in ConsistencyLevel.name_to_value or consistency_name.startswith(
            ("SERIAL", "LOCAL_SERIAL")
        ):
            raise ValueError(f"{_safe(url)}: consistency {consistency_name!r} is not a read/write level")
        local_dc = options.get("local_dc") or None
        if local_dc is not None and not _DC.fullmatch(local_dc):
            raise ValueError(f"{_safe(url)}: local_dc {local_dc!r} is not a data centre name")
        return cls(
            contact_points=_contact_points(hosts, url),
            keyspace=keyspace,
            replication=_replication(options.get("replication", "1"), url),
            consistency=ConsistencyLevel.name_to_value[consistency_name],
            local_dc=local_dc,
            connect_timeout_s=_seconds(options, "connect_timeout", 5.0, url),
            request_timeout_s=_seconds(options, "request_timeout", 10.0, url),
            protocol_version=_protocol(options.get("protocol", "5"), url),
            username=username,
            password=password,
        )

    @property
    def hosts(self) -> str:
        """The contact points as ``host:port,...``, for messages."""
        return ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.contact_points)

    def url(self) -> str:
        """The URL back, the password left out: safe to print."""
        user = f"{self.username}@" if self.username else ""
        options = {"replication": ",".join(f"{dc}:{n}" if dc else str(n) for dc, n in self.replication)}
        if self.consistency != ConsistencyLevel.LOCAL_QUORUM:
            options["consistency"] = ConsistencyLevel.value_to_name[self.consistency]
        if self.local_dc:
            options["local_dc"] = self.local_dc
        if self.protocol_version != 5:
            options["protocol"] = str(self.protocol_version)
        query = "&".join(f"{k}={v}" for k, v in options.items())
        return f"cassandra://{user}{self.hosts}/{self.keyspace}?{query}"

    def replication_cql(self) -> str:
        """The keyspace's replication as a CQL map literal."""
        if len(self.replication) == 1 and self.replication[0][0] == "":
            return f"{{'class': 'SimpleStrategy', 'replication_factor': {self.replication[0][1]}}}"
        per_dc = ", ".join(f"'{dc}': {n}" for dc, n in self.replication)
        return f"{{'class': 'NetworkTopologyStrategy', {per_dc}}}"


@dataclass(frozen=True)
class Migration:
    """One step of a view's schema: applied once, in order; its statements name the keyspace ``{ks}``."""

    version: int
    description: str
    statements: tuple[str, ...]


@dataclass(frozen=True)
class MigrationReport:
    view: str
    url: str
    from_version: int
    to_version: int


class CassandraConnection:
    """One cluster connection for one store: prepared statements, async execution, translated errors."""

    def __init__(
        self, settings: CassandraSettings, *, what: str, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        """Connect now (a few hundred ms); if no node answers, ``StoreUnavailableError`` names them all.

        ``loop``: the asyncio loop that will await this connection's statements, which then does
        its socket I/O. Connecting waits for that loop to carry the handshakes, so call this from
        another thread while the loop runs (``await asyncio.to_thread(...)``), never on the loop.
        """
        if loop is not None and on_loop(loop):
            raise ValueError(
                f"the {what} for this event loop must be opened from another thread while the loop runs "
                "(asyncio.to_thread): opening it on the loop would wait for the loop itself"
            )
        self.settings = settings
        self.what = what
        self._loop = loop
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=settings.local_dc)),
            consistency_level=settings.consistency,
            request_timeout=settings.request_timeout_s,
            row_factory=tuple_factory,
        )
        auth = (
            PlainTextAuthProvider(username=settings.username, password=settings.password or "")
            if settings.username
            else None
        )
        cluster: Cluster | None = None
        try:
            cluster = Cluster(
                contact_points=list(settings.contact_points),
                execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                connect_timeout=settings.connect_timeout_s,
                control_connection_timeout=settings.connect_timeout_s,
                auth_provider=auth,
                protocol_version=settings.protocol_version,
                **({"connection_class": connection_class_for(loop)} if loop is not None else {}),
            )
            session = cluster.connect()
        except (*_DRIVER_ERRORS, ValueError) as exc:
            if cluster is not None:
                cluster.shutdown()
            raise StoreUnavailableError(
                f"cannot open the {what}: no Cassandra node answered at {settings.hosts} "
                f"(keyspace {settings.keyspace}): {_reason(exc)}"
            ) from exc
        self._cluster: Cluster = cluster
        self._session: Session | None = session

    # -- statements --------------------------------------------------------------

    def prepare(self, cql: str, *, consistency: int | None = None) -> PreparedStatement:
        """Prepare ``cql`` (``{ks}``: the keyspace) on every node; at open, so a bad statement fails early."""
        session = self._live()
        try:
            statement = session.prepare(self._cql(cql))
        except _DRIVER_ERRORS as exc:
            raise self._translate(exc, "preparing a statement") from exc
        if consistency is not None:
            statement.consistency_level = consistency
        return statement

    def run_sync(self, cql: str, params: Sequence[Any] = (), *, timeout_s: float | None = None) -> list[Any]:
        """A blocking statement, for opening and migrating only (never on a request path)."""
        session = self._live()
        try:
            result = session.execute(
                self._cql(cql), params, timeout=timeout_s or self.settings.request_timeout_s
            )
            return list(result)
        except _DRIVER_ERRORS as exc:
            raise self._translate(exc, cql.split("(")[0].strip()) from exc

    async def rows(self, statement: PreparedStatement, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a bound statement, page after page, without blocking the loop."""
        return await self._execute(statement, params)

    async def write(self, statement: PreparedStatement, params: Sequence[Any] = ()) -> None:
        await self._execute(statement, params)

    async def write_batch(self, items: Sequence[tuple[PreparedStatement, Sequence[Any]]]) -> None:
        """One unlogged batch: for statements of ONE partition, which Cassandra applies as one mutation."""
        if len(items) == 1:
            await self._execute(*items[0])
            return
        batch = BatchStatement(batch_type=BatchType.UNLOGGED, consistency_level=self.settings.consistency)
        for statement, params in items:
            batch.add(statement, params)
        await self._execute(batch, ())

    async def write_logged(self, items: Sequence[tuple[PreparedStatement, Sequence[Any]]]) -> None:
        """A logged batch: every statement is applied in the end, or none, even across partitions."""
        batch = BatchStatement(batch_type=BatchType.LOGGED, consistency_level=self.settings.consistency)
        for statement, params in items:
            batch.add(statement, params)
        await self._execute(batch, ())

    async def each(
        self, call: Callable[..., Awaitable[T]], calls: Sequence[Sequence[Any]], *, limit: int = MAX_IN_FLIGHT
    ) -> list[T]:
        """``call(*args)`` for each args, ``limit`` at a time; results in order, the first error raised.

        Each call starts only when a slot is free, so a failure leaves no coroutine created and never run.
        """
        results: list[Any] = [None] * len(calls)
        queue = iter(enumerate(calls))

        async def worker() -> None:
            for index, args in queue:  # the workers share the iterator: each takes the next call
                results[index] = await call(*args)

        workers = [asyncio.ensure_future(worker()) for _ in range(min(limit, len(calls)))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        return results

    # -- schema ------------------------------------------------------------------

    def schema_version(self, view: str) -> int | None:
        """The view's schema version in the keyspace; None when the keyspace or version table is missing."""
        self._live()
        keyspace = self._cluster.metadata.keyspaces.get(self.settings.keyspace)
        if keyspace is None or VERSION_TABLE not in keyspace.tables:
            return None
        found = self.run_sync(f"SELECT version FROM {{ks}}.{VERSION_TABLE} WHERE view_name = %s", (view,))
        return int(found[0][0]) if found else 0

    def require_schema(self, view: str, version: int) -> None:
        """Refuse to serve from a keyspace whose schema is not ``version``, saying what to run."""
        found = self.schema_version(view)
        migrate_cmd = f"tubestream views migrate --{view}-url '{self.settings.url()}'"
        if found is None:
            raise SchemaVersionError(
                f"the {view} keyspace {self.settings.keyspace!r} at {self.settings.hosts} has no tubestream "
                f"schema yet: run `{migrate_cmd}` first"
            )
        if found < version:
            raise SchemaVersionError(
                f"the {view} schema in keyspace {self.settings.keyspace!r} is at version {found}, this code "
                f"reads version {version}: run `{migrate_cmd}`"
            )
        if found > version:
            raise SchemaVersionError(
                f"the {view} schema in keyspace {self.settings.keyspace!r} is at version {found}, newer than "
                f"this code's {version}: upgrade tubestream before running it against this keyspace"
            )

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        """Shut the cluster connection down (blocks while its threads stop); later calls fail."""
        if self._session is not None:
            self._session = None
            self._cluster.shutdown()

    @property
    def closed(self) -> bool:
        return self._session is None

    # -- plumbing ----------------------------------------------------------------

    def _cql(self, cql: str) -> str:
        return cql.replace("{ks}", self.settings.keyspace)  # not str.format: CQL maps have braces too

    def _live(self) -> Session:
        if self._session is None:
            raise StoreUnavailableError(f"the {self.what} ({self.settings.url()}) is closed")
        return self._session

    async def _execute(self, statement: Any, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        session = self._live()
        loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop:  # its I/O, and timeouts, need the other loop
            raise ViewStoreError(f"the {self.what} was opened for another event loop than this one")
        done: asyncio.Future[list[tuple[Any, ...]]] = loop.create_future()
        rows: list[tuple[Any, ...]] = []
        try:
            future = session.execute_async(statement, params)
        except _DRIVER_ERRORS as exc:
            raise self._translate(exc, _what(statement)) from exc

        def on_page(page: list[tuple[Any, ...]] | None) -> None:  # on the driver's thread
            try:
                rows.extend(page or ())  # a write has no rows
                if future.has_more_pages:
                    future.start_fetching_next_page()
                    return
            except Exception as exc:
                _settle(loop, done, error=exc)
                return
            _settle(loop, done, rows=rows)

        def on_error(exc: BaseException) -> None:
            _settle(loop, done, error=exc)

        future.add_callbacks(on_page, on_error)
        try:
            return await done
        except _DRIVER_ERRORS as exc:
            raise self._translate(exc, _what(statement)) from exc

    def _translate(self, exc: BaseException, doing: str) -> ViewStoreError:
        where = f"{self.what} at {self.settings.hosts}/{self.settings.keyspace}"
        if isinstance(exc, Unauthorized | AuthenticationFailed):
            return StoreUnavailableError(f"{where}: not allowed ({doing}): {_reason(exc)}")
        if isinstance(exc, RequestValidationException):  # Cassandra refused the statement itself
            return ViewStoreError(f"{where}: {doing}: {_reason(exc)}")
        return StoreUnavailableError(f"{where}: {doing}: {_reason(exc)}")


def migrate(settings: CassandraSettings, *, view: str, migrations: Sequence[Migration]) -> MigrationReport:
    """Create the keyspace if missing, then apply the view's migrations above its stored version."""
    if [m.version for m in migrations] != list(range(1, len(migrations) + 1)):
        raise ValueError(f"{view} migrations must be numbered 1, 2, 3... in order")
    connection = CassandraConnection(settings, what=f"{view} store")
    try:
        connection.run_sync(
            f"CREATE KEYSPACE IF NOT EXISTS {{ks}} WITH replication = {settings.replication_cql()} "
            "AND durable_writes = true",
            timeout_s=_DDL_TIMEOUT_S,
        )
        connection.run_sync(
            f"CREATE TABLE IF NOT EXISTS {{ks}}.{VERSION_TABLE} "
            "(view_name text PRIMARY KEY, version int, migrated_at timestamp)",
            timeout_s=_DDL_TIMEOUT_S,
        )
        found = connection.schema_version(view) or 0
        latest = len(migrations)
        if found > latest:
            raise SchemaVersionError(
                f"the {view} schema in keyspace {settings.keyspace!r} is at version {found}, newer than this "
                f"code's {latest}: upgrade tubestream"
            )
        for step in migrations[found:]:
            log.info("%s schema: applying version %d (%s)", view, step.version, step.description)
            for cql in step.statements:
                connection.run_sync(cql, timeout_s=_DDL_TIMEOUT_S)
            connection.run_sync(
                f"INSERT INTO {{ks}}.{VERSION_TABLE} (view_name, version, migrated_at) "
                "VALUES (%s, %s, toTimestamp(now()))",
                (view, step.version),
            )
        return MigrationReport(view=view, url=settings.url(), from_version=found, to_version=latest)
    finally:
        connection.close()


def _settle(
    loop: asyncio.AbstractEventLoop,
    done: asyncio.Future[list[tuple[Any, ...]]],
    *,
    rows: list[tuple[Any, ...]] | None = None,
    error: BaseException | None = None,
) -> None:
    def settle() -> None:
        if done.done():  # the caller gave up (cancelled) meanwhile
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(rows or [])

    if on_loop(loop):  # the answer was read on the caller's loop itself (views.cassandra_loop)
        settle()
        return
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
        loop.call_soon_threadsafe(settle)


def _contact_points(hosts: str, url: str) -> tuple[tuple[str, int], ...]:
    points: list[tuple[str, int]] = []
    for raw in hosts.split(","):
        raw = raw.strip()
        if raw.startswith("["):  # [::1]:9042
            host, _, rest = raw[1:].partition("]")
            port_text = rest.removeprefix(":")
        else:
            host, _, port_text = raw.partition(":")
        if not host:
            raise ValueError(f"{_safe(url)}: expected cassandra://host[:port][,host[:port]...]/keyspace")
        if port_text and (not port_text.isdecimal() or not 0 < int(port_text) < 65536):
            raise ValueError(f"{_safe(url)}: {port_text!r} is not a port")
        points.append((host, int(port_text) if port_text else DEFAULT_PORT))
    return tuple(points)


def _replication(raw: str, url: str) -> tuple[tuple[str, int], ...]:
    if raw.isdecimal() and int(raw) > 0:
        return (("", int(raw)),)
    pairs: list[tuple[str, int]] = []
    for item in raw.split(","):
        dc, _, count = item.strip().partition(":")
        if not _DC.fullmatch(dc) or not count.isdecimal() or int(count) < 1:
            raise ValueError(
                f"{_safe(url)}: replication {raw!r}: expected a factor (3) or data centres (dc1:3,dc2:3)"
            )
        pairs.append((dc, int(count)))
    return tuple(pairs)


def _protocol(raw: str, url: str) -> int:
    if raw not in ("4", "5"):
        raise ValueError(f"{_safe(url)}: protocol must be 4 (Cassandra 3.x) or 5 (4.0 on), got {raw!r}")
    return int(raw)


def _seconds(options: dict[str, str], name: str, default: float, url: str) -> float:
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise ValueError(f"{_safe(url)}: {name} must be seconds between 0 and 3600, got {raw!r}")
    return value


def _safe(url: str) -> str:
    """The URL with any password masked, for error messages."""
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        return url.replace(parts.netloc, f"{userinfo.partition(':')[0]}:***@{hosts}", 1)
    return url


def _what(statement: Any) -> str:
    """A statement's first words, for messages: ``SELECT doc FROM ks.videos_by_id``."""
    text = getattr(statement, "query_string", None) or type(statement).__name__
    return " ".join(str(text).split()[:5])


def _reason(exc: BaseException) -> str:
    if isinstance(exc, NoHostAvailable) and isinstance(exc.errors, dict) and exc.errors:
        return "; ".join(f"{host}: {error}" for host, error in exc.errors.items())
    return f"{type(exc).__name__}: {exc}"
