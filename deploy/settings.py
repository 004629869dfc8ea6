"""The one settings object, built from the environment at the edge (the CLI) and passed down.

No other module reads environment variables. Every default is the embedded,
one-machine setup: a local Kafka started by ``tubestream``, SQLite views and
local-filesystem blobs under ``.local/`` of the working directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from topics.config import KafkaConfig

__all__ = ["Settings"]

DEFAULT_KAFKA_PORT = 9092
DEFAULT_API_PORT = 8080
DEFAULT_COLLECTOR_PORT = 8081
DEFAULT_UPLOAD_PORT = 8082
DEFAULT_CASSANDRA_PORT = 9042  # the local Cassandra's native (CQL) port; storage and JMX are Cassandra's own
DEFAULT_CASSANDRA_STORAGE_PORT = 7000
DEFAULT_CASSANDRA_JMX_PORT = 7199
DEFAULT_ELASTICSEARCH_PORT = 9200  # the local Elasticsearch's HTTP port; its transport port is 100 above
DEFAULT_MINIO_PORT = 9000  # the local MinIO's S3 port; its console is the next one


@dataclass(frozen=True, kw_only=True)
class Settings:
    home: Path  # caches, downloaded servers and data
    kafka: KafkaConfig
    local_kafka: bool  # True: tubestream runs the broker itself; False: KAFKA_BOOTSTRAP points elsewhere
    kafka_port: int
    catalog_url: str
    api_host: str
    api_port: int
    playback_url: str = ""  # empty: sqlite under home/views
    recs_url: str = ""  # the recommendations interactions view (sqlite); empty: sqlite under home/views
    search_url: str = ""  # sqlite (FTS5) or http://host:9200 (Elasticsearch); empty: sqlite under home/views
    blob_dir: Path | None = None  # the local blob store; None: home/blobs
    blob_url: str = ""  # s3://bucket?endpoint=... for S3/MinIO; empty: the local blob store
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    upload_port: int = DEFAULT_UPLOAD_PORT
    upload_url: str = ""  # where clients reach the upload service; empty: http://api_host:upload_port
    upload_jwt_secret: str | None = None  # HS256; None: a per-machine secret under home/secrets
    upload_jwt_public_key: str | None = None  # RS256 public key (PEM text) instead
    upload_max_bytes: int = 5 * 1024**4
    collector_port: int = DEFAULT_COLLECTOR_PORT
    collector_url: str = ""  # where players reach the collector; empty: http://api_host:collector_port
    # The web app's sign-in hands out player and upload tokens: only with the per-machine secrets of the
    # embedded setup. Any secret from the environment means tokens come from an identity provider.
    web_sign_in: bool = False
    player_token_secret: str | None = None  # None: a per-machine secret under home/secrets
    pseudonym_key: str | None = None  # None: a per-machine key under home/secrets
    cors_origins: tuple[str, ...] = ("*",)  # browser origins that may call the API and fetch media
    media_base_url: str = "/media/"  # where players fetch media: the API's route, or a CDN in front of it
    # signs unlisted and private videos' media URLs; None: a per-machine secret under home/secrets (every
    # API process of a deployment must share it, or a URL one signs another refuses)
    media_signing_secret: str | None = None
    signed_media_ttl_s: int = 6 * 3600  # how long a signed media URL stays valid (rounded up to 10 minutes)
    tls_cert_file: Path | None = None  # HTTPS for the API, the collector and the upload service (PEM chain)
    tls_key_file: Path | None = None  # ...and its private key (PEM); both or neither
    cassandra_port: int = DEFAULT_CASSANDRA_PORT  # `tubestream cassandra start`: a local node for the views
    cassandra_storage_port: int = DEFAULT_CASSANDRA_STORAGE_PORT
    cassandra_jmx_port: int = DEFAULT_CASSANDRA_JMX_PORT
    # playback events still counted this long after their minute; the collector refuses older ones
    backfill_horizon: timedelta = timedelta(days=7)
    # the analytics worker retires sessions idle this long (bounded state); None keeps every event
    session_retire_after: timedelta | None = timedelta(minutes=15)
    # ...and ended sessions this long after their last event; None: as idle ones (a straggler of an ended
    # session arriving later than this is left out, counted as unplaced)
    session_retire_ended_after: timedelta | None = None
    elasticsearch_port: int = DEFAULT_ELASTICSEARCH_PORT  # `tubestream elasticsearch start`
    minio_port: int = DEFAULT_MINIO_PORT  # `tubestream minio start`

    @property
    def kafka_home(self) -> Path:
        return self.home / "kafka"

    @property
    def cassandra_home(self) -> Path:
        return self.home / "cassandra"

    @property
    def blobs_root(self) -> Path:
        return self.blob_dir or self.home / "blobs"

    @property
    def web_scheme(self) -> str:
        """How the HTTP services are reached: ``https`` once they have a certificate."""
        return "https" if self.tls_cert_file else "http"

    @property
    def upload_service_url(self) -> str:
        return self.upload_url or f"{self.web_scheme}://{self.api_host}:{self.upload_port}"

    @property
    def collector_service_url(self) -> str:
        return self.collector_url or f"{self.web_scheme}://{self.api_host}:{self.collector_port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``TUBESTREAM_*`` and ``KAFKA_*``; see the README's configuration table.

        A variable set to the empty string counts as unset (``FOO=${FOO:-}`` in a
        script or compose file), so it gets its default rather than an empty value.
        """
        env = {k: v for k, v in (os.environ if env is None else env).items() if v.strip()}
        home = Path(env.get("TUBESTREAM_HOME", ".local")).resolve()
        kafka_port = _port(env, "TUBESTREAM_KAFKA_PORT", DEFAULT_KAFKA_PORT)
        bootstrap = env.get("KAFKA_BOOTSTRAP", "").strip()
        tls_cert, tls_key = _path(env, "TUBESTREAM_TLS_CERT_FILE"), _path(env, "TUBESTREAM_TLS_KEY_FILE")
        configured_secrets = [
            name
            for name in (
                "TUBESTREAM_PLAYER_TOKEN_SECRET",
                "TUBESTREAM_UPLOAD_JWT_SECRET",
                "TUBESTREAM_UPLOAD_JWT_PUBLIC_KEY_FILE",
                "TUBESTREAM_PSEUDONYM_KEY",
            )
            if name in env
        ]
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("TUBESTREAM_TLS_CERT_FILE and TUBESTREAM_TLS_KEY_FILE go together: set both")
        return cls(
            home=home,
            kafka=_kafka_config(env, bootstrap=bootstrap or f"127.0.0.1:{kafka_port}", local=not bootstrap),
            local_kafka=not bootstrap,
            kafka_port=kafka_port,
            catalog_url=env.get("TUBESTREAM_CATALOG_URL", f"sqlite:///{home / 'views' / 'catalog.db'}"),
            api_host=env.get("TUBESTREAM_API_HOST", "127.0.0.1"),
            api_port=_port(env, "TUBESTREAM_API_PORT", DEFAULT_API_PORT),
            blob_dir=Path(env["TUBESTREAM_BLOB_DIR"]).resolve() if env.get("TUBESTREAM_BLOB_DIR") else None,
            blob_url=env.get("TUBESTREAM_BLOB_URL", ""),
            s3_access_key=env.get("TUBESTREAM_S3_ACCESS_KEY") or env.get("AWS_ACCESS_KEY_ID"),
            s3_secret_key=env.get("TUBESTREAM_S3_SECRET_KEY") or env.get("AWS_SECRET_ACCESS_KEY"),
            upload_port=_port(env, "TUBESTREAM_UPLOAD_PORT", DEFAULT_UPLOAD_PORT),
            upload_url=env.get("TUBESTREAM_UPLOAD_URL", ""),
            upload_jwt_secret=env.get("TUBESTREAM_UPLOAD_JWT_SECRET") or None,
            upload_jwt_public_key=_read_key(env.get("TUBESTREAM_UPLOAD_JWT_PUBLIC_KEY_FILE")),
            upload_max_bytes=_count(env, "TUBESTREAM_UPLOAD_MAX_BYTES", 5 * 1024**4),
            playback_url=env.get("TUBESTREAM_PLAYBACK_URL", f"sqlite:///{home / 'views' / 'playback.db'}"),
            recs_url=env.get("TUBESTREAM_RECS_URL", f"sqlite:///{home / 'views' / 'recs.db'}"),
            search_url=env.get("TUBESTREAM_SEARCH_URL", f"sqlite:///{home / 'views' / 'search.db'}"),
            collector_port=_port(env, "TUBESTREAM_COLLECTOR_PORT", DEFAULT_COLLECTOR_PORT),
            collector_url=env.get("TUBESTREAM_COLLECTOR_URL", ""),
            web_sign_in=_sign_in(env.get("TUBESTREAM_WEB_SIGN_IN", "auto"), configured_secrets),
            player_token_secret=env.get("TUBESTREAM_PLAYER_TOKEN_SECRET") or None,
            pseudonym_key=env.get("TUBESTREAM_PSEUDONYM_KEY") or None,
            cors_origins=_origins(env.get("TUBESTREAM_CORS_ORIGINS", "*")),
            media_base_url=_base_url(env.get("TUBESTREAM_MEDIA_BASE_URL", "/media/")),
            media_signing_secret=env.get("TUBESTREAM_MEDIA_SIGNING_SECRET") or None,
            signed_media_ttl_s=_count(env, "TUBESTREAM_SIGNED_MEDIA_TTL_S", 6 * 3600),
            tls_cert_file=tls_cert,
            tls_key_file=tls_key,
            cassandra_port=_port(env, "TUBESTREAM_CASSANDRA_PORT", DEFAULT_CASSANDRA_PORT),
            cassandra_storage_port=_port(
                env, "TUBESTREAM_CASSANDRA_STORAGE_PORT", DEFAULT_CASSANDRA_STORAGE_PORT
            ),
            cassandra_jmx_port=_port(env, "TUBESTREAM_CASSANDRA_JMX_PORT", DEFAULT_CASSANDRA_JMX_PORT),
            backfill_horizon=timedelta(hours=_count(env, "TUBESTREAM_BACKFILL_HORIZON_HOURS", 7 * 24)),
            session_retire_after=_minutes_or_off(env, "TUBESTREAM_SESSION_RETIRE_MINUTES", 15),
            session_retire_ended_after=_minutes_or_none(env, "TUBESTREAM_SESSION_RETIRE_ENDED_MINUTES"),
            elasticsearch_port=_port(env, "TUBESTREAM_ELASTICSEARCH_PORT", DEFAULT_ELASTICSEARCH_PORT),
            minio_port=_port(env, "TUBESTREAM_MINIO_PORT", DEFAULT_MINIO_PORT),
        )


def _kafka_config(env: Mapping[str, str], *, bootstrap: str, local: bool) -> KafkaConfig:
    protocol = env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").strip().upper()
    if local and protocol != "PLAINTEXT":
        raise ValueError(
            f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_BOOTSTRAP: "
            "the broker tubestream runs itself listens in plaintext on 127.0.0.1"
        )
    try:
        return KafkaConfig(
            bootstrap=bootstrap,
            namespace=env.get("TUBESTREAM_NAMESPACE", ""),
            security_protocol=protocol,
            ssl_cafile=_path(env, "KAFKA_SSL_CA_FILE"),
            ssl_certfile=_path(env, "KAFKA_SSL_CERT_FILE"),
            ssl_keyfile=_path(env, "KAFKA_SSL_KEY_FILE"),
            sasl_mechanism=env.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512").strip().upper(),
            sasl_username=env.get("KAFKA_SASL_USERNAME"),
            sasl_password=env.get("KAFKA_SASL_PASSWORD"),
        )
    except ValueError as exc:
        raise ValueError(f"{exc} (see KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_*, KAFKA_SASL_*)") from None


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdecimal() or not 0 < int(raw) < 65536:
        raise ValueError(f"{name} must be a TCP port number, got {raw!r}")
    return int(raw)


def _minutes_or_off(env: Mapping[str, str], name: str, default: int) -> timedelta | None:
    """A whole number of minutes; ``0`` turns the feature off (``None``)."""
    raw = env.get(name, "").strip() or str(default)
    if not raw.isdecimal():
        raise ValueError(f"{name} must be a whole number of minutes (0: off), got {raw!r}")
    return timedelta(minutes=int(raw)) if int(raw) else None


def _minutes_or_none(env: Mapping[str, str], name: str) -> timedelta | None:
    """A positive whole number of minutes, or ``None`` when not set."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdecimal() or int(raw) <= 0:
        raise ValueError(f"{name} must be a positive whole number of minutes, got {raw!r}")
    return timedelta(minutes=int(raw))


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdecimal() or int(raw) <= 0:
        raise ValueError(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ValueError(f"TUBESTREAM_CORS_ORIGINS: {origin!r} is not * or an http(s) origin")
    return origins


def _sign_in(raw: str, configured_secrets: Sequence[str]) -> bool:
    """``auto`` (the default): on while every secret is the machine's own, off once one is configured."""
    choice = raw.strip().lower()
    if choice not in ("auto", "off"):
        raise ValueError(
            f"TUBESTREAM_WEB_SIGN_IN must be auto or off, got {raw!r}: the embedded sign-in cannot be "
            "forced on, it never hands out tokens where an identity provider should"
        )
    return choice == "auto" and not configured_secrets


def _base_url(raw: str) -> str:
    if not raw.startswith(("/", "http://", "https://")):
        raise ValueError(f"TUBESTREAM_MEDIA_BASE_URL must be a path or an http(s) URL, got {raw!r}")
    return raw if raw.endswith("/") else raw + "/"


def _path(env: Mapping[str, str], name: str) -> Path | None:
    """A file named by a variable, made absolute: child processes may run elsewhere."""
    raw = env.get(name, "").strip()
    return Path(raw).resolve() if raw else None


def _read_key(path: str | None) -> str | None:
    return Path(path).read_text() if path else None
