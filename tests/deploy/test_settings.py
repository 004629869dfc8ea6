"""Settings from the environment: the embedded defaults, each override, and clear refusals."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from deploy.settings import Settings


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # relative defaults resolve here, not in the checkout
    return tmp_path


def test_no_environment_means_the_embedded_one_machine_setup(in_tmp: Path) -> None:
    s = Settings.from_env({})
    home = in_tmp / ".local"
    assert s.home == home and s.home.is_absolute()
    assert s.local_kafka is True
    assert (s.kafka.bootstrap, s.kafka.namespace, s.kafka_port) == ("127.0.0.1:9092", "", 9092)
    assert s.kafka_home == home / "kafka"
    assert s.catalog_url == f"sqlite:///{home / 'views' / 'catalog.db'}"
    assert s.playback_url == f"sqlite:///{home / 'views' / 'playback.db'}"
    assert s.blobs_root == home / "blobs"
    assert (s.api_host, s.api_port, s.collector_port, s.upload_port) == ("127.0.0.1", 8080, 8081, 8082)
    assert s.upload_service_url == "http://127.0.0.1:8082"
    assert s.upload_max_bytes == 5 * 1024**4
    assert (s.cassandra_home, s.cassandra_port, s.cassandra_storage_port, s.cassandra_jmx_port) == (
        home / "cassandra",
        9042,
        7000,
        7199,
    )
    assert (s.upload_jwt_secret, s.upload_jwt_public_key, s.player_token_secret, s.pseudonym_key) == (
        None,
        None,
        None,
        None,
    )


def test_kafka_bootstrap_points_at_another_cluster_and_no_broker_is_run() -> None:
    s = Settings.from_env({"KAFKA_BOOTSTRAP": " kafka-1:9092,kafka-2:9092 ", "TUBESTREAM_NAMESPACE": "ci-7-"})
    assert s.local_kafka is False
    assert s.kafka.bootstrap == "kafka-1:9092,kafka-2:9092"
    assert s.kafka.topic("upload-complete") == "ci-7-upload-complete"
    assert s.kafka.group("catalog") == "ci-7-catalog"


def test_the_local_broker_port_moves_the_bootstrap_with_it() -> None:
    s = Settings.from_env({"TUBESTREAM_KAFKA_PORT": "19092"})
    assert (s.local_kafka, s.kafka_port, s.kafka.bootstrap) == (True, 19092, "127.0.0.1:19092")


def test_every_override_is_read(in_tmp: Path) -> None:
    key = in_tmp / "uploader.pem"
    key.write_text("-----BEGIN PUBLIC KEY-----\nMII\n-----END PUBLIC KEY-----\n")
    s = Settings.from_env(
        {
            "TUBESTREAM_HOME": "state",
            "TUBESTREAM_CATALOG_URL": "sqlite:///:memory:",
            "TUBESTREAM_PLAYBACK_URL": "sqlite:///p.db",
            "TUBESTREAM_BLOB_DIR": "media",
            "TUBESTREAM_BLOB_URL": "s3://videos?endpoint=http://127.0.0.1:9000",
            "AWS_ACCESS_KEY_ID": "aws-id",
            "TUBESTREAM_S3_SECRET_KEY": "ts-secret",
            "AWS_SECRET_ACCESS_KEY": "aws-secret",
            "TUBESTREAM_API_HOST": "0.0.0.0",
            "TUBESTREAM_API_PORT": "9000",
            "TUBESTREAM_COLLECTOR_PORT": "9001",
            "TUBESTREAM_UPLOAD_PORT": "9002",
            "TUBESTREAM_UPLOAD_URL": "https://up.example",
            "TUBESTREAM_UPLOAD_JWT_SECRET": "jwt",
            "TUBESTREAM_UPLOAD_JWT_PUBLIC_KEY_FILE": str(key),
            "TUBESTREAM_UPLOAD_MAX_BYTES": "1048576",
            "TUBESTREAM_PLAYER_TOKEN_SECRET": "player",
            "TUBESTREAM_PSEUDONYM_KEY": "pseudo",
            "TUBESTREAM_CASSANDRA_PORT": "19042",
            "TUBESTREAM_CASSANDRA_STORAGE_PORT": "17000",
            "TUBESTREAM_CASSANDRA_JMX_PORT": "17199",
            "TUBESTREAM_ELASTICSEARCH_PORT": "19200",
            "TUBESTREAM_MINIO_PORT": "19000",
        }
    )
    assert s.home == in_tmp / "state"
    assert s.kafka_home == in_tmp / "state" / "kafka"
    assert (s.catalog_url, s.playback_url) == ("sqlite:///:memory:", "sqlite:///p.db")
    assert s.blobs_root == in_tmp / "media"  # resolved: child processes may run elsewhere
    assert s.blob_url == "s3://videos?endpoint=http://127.0.0.1:9000"
    assert (s.s3_access_key, s.s3_secret_key) == ("aws-id", "ts-secret")  # TUBESTREAM_* wins over AWS_*
    assert (s.api_host, s.api_port, s.collector_port, s.upload_port) == ("0.0.0.0", 9000, 9001, 9002)
    assert s.upload_service_url == "https://up.example"
    assert s.upload_jwt_secret == "jwt"
    assert s.upload_jwt_public_key == key.read_text()
    assert s.upload_max_bytes == 1048576
    assert (s.player_token_secret, s.pseudonym_key) == ("player", "pseudo")
    assert (s.cassandra_port, s.cassandra_storage_port, s.cassandra_jmx_port) == (19042, 17000, 17199)
    assert s.cassandra_home == in_tmp / "state" / "cassandra"
    assert (s.elasticsearch_port, s.minio_port) == (19200, 19000)


def test_the_upload_url_follows_the_api_host_and_upload_port() -> None:
    s = Settings.from_env({"TUBESTREAM_API_HOST": "10.0.0.5", "TUBESTREAM_UPLOAD_PORT": "7000"})
    assert s.upload_service_url == "http://10.0.0.5:7000"


def test_an_empty_variable_counts_as_unset(in_tmp: Path) -> None:
    """``TUBESTREAM_HOME=`` in a compose file must not put Kafka's data in the working directory."""
    empty = {
        name: ""
        for name in (
            "TUBESTREAM_HOME",
            "KAFKA_BOOTSTRAP",
            "TUBESTREAM_KAFKA_PORT",
            "TUBESTREAM_CATALOG_URL",
            "TUBESTREAM_PLAYBACK_URL",
            "TUBESTREAM_API_HOST",
            "TUBESTREAM_API_PORT",
            "TUBESTREAM_UPLOAD_MAX_BYTES",
            "TUBESTREAM_UPLOAD_JWT_SECRET",
            "TUBESTREAM_UPLOAD_JWT_PUBLIC_KEY_FILE",
            "TUBESTREAM_BLOB_DIR",
        )
    }
    assert Settings.from_env(empty) == Settings.from_env({})


def test_os_environ_is_read_when_no_mapping_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUBESTREAM_NAMESPACE", "from-env-")
    monkeypatch.setenv("TUBESTREAM_API_PORT", "18080")
    s = Settings.from_env()
    assert (s.kafka.namespace, s.api_port) == ("from-env-", 18080)


@pytest.mark.parametrize("raw", ["0", "65536", "http", "80a", "-1", "²"])
def test_a_bad_port_is_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(ValueError, match=r"TUBESTREAM_API_PORT must be a TCP port number"):
        Settings.from_env({"TUBESTREAM_API_PORT": raw})


@pytest.mark.parametrize("raw", ["5TiB", "0", "-5", "1e9"])
def test_a_bad_upload_limit_is_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(ValueError, match="TUBESTREAM_UPLOAD_MAX_BYTES"):
        Settings.from_env({"TUBESTREAM_UPLOAD_MAX_BYTES": raw})


def test_cors_origins_and_the_media_base_url() -> None:
    default = Settings.from_env({})
    assert default.cors_origins == ("*",) and default.media_base_url == "/media/"
    set_ = Settings.from_env(
        {
            "TUBESTREAM_CORS_ORIGINS": "https://app.example/, http://localhost:3000",
            "TUBESTREAM_MEDIA_BASE_URL": "https://cdn.example/media",
        }
    )
    assert set_.cors_origins == ("https://app.example", "http://localhost:3000")
    assert set_.media_base_url == "https://cdn.example/media/"
    with pytest.raises(ValueError, match="TUBESTREAM_CORS_ORIGINS"):
        Settings.from_env({"TUBESTREAM_CORS_ORIGINS": "app.example"})
    with pytest.raises(ValueError, match="TUBESTREAM_MEDIA_BASE_URL"):
        Settings.from_env({"TUBESTREAM_MEDIA_BASE_URL": "cdn.example"})


def test_the_media_signing_secret_and_the_signed_urls_lifetime(tmp_path: Path) -> None:
    from deploy.cli.views import _media_signer

    default = Settings.from_env({"TUBESTREAM_HOME": str(tmp_path)})
    assert default.media_signing_secret is None and default.signed_media_ttl_s == 6 * 3600
    made = _media_signer(default)  # a per-machine secret, made once and kept
    assert made.secret == _media_signer(default).secret
    assert (tmp_path / "secrets" / "media-signing").read_text().strip().encode() == made.secret
    set_ = Settings.from_env(
        {"TUBESTREAM_MEDIA_SIGNING_SECRET": "m" * 40, "TUBESTREAM_SIGNED_MEDIA_TTL_S": "900"}
    )
    signer = _media_signer(set_)
    assert (signer.secret, signer.ttl_s) == (b"m" * 40, 900)
    with pytest.raises(ValueError, match="TUBESTREAM_SIGNED_MEDIA_TTL_S"):
        Settings.from_env({"TUBESTREAM_SIGNED_MEDIA_TTL_S": "-1"})
    with pytest.raises(ValueError, match="32 bytes"):
        _media_signer(Settings.from_env({"TUBESTREAM_MEDIA_SIGNING_SECRET": "short"}))


def test_kafka_security_settings_reach_the_one_kafka_config(in_tmp: Path) -> None:
    s = Settings.from_env(
        {
            "KAFKA_BOOTSTRAP": "kafka-1:9093",
            "KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
            "KAFKA_SSL_CA_FILE": "tls/ca.pem",
            "KAFKA_SASL_MECHANISM": "scram-sha-256",
            "KAFKA_SASL_USERNAME": "tubestream",
            "KAFKA_SASL_PASSWORD": "pw",
        }
    )
    k = s.kafka
    assert (k.security_protocol, k.sasl_mechanism, k.sasl_username, k.sasl_password) == (
        "SASL_SSL",
        "SCRAM-SHA-256",
        "tubestream",
        "pw",
    )
    assert k.ssl_cafile == in_tmp / "tls" / "ca.pem"  # absolute: child processes may run elsewhere
    assert (
        Settings.from_env({"KAFKA_BOOTSTRAP": "k:9093", "KAFKA_SECURITY_PROTOCOL": "SSL"}).kafka.ssl_cafile
        is None
    )
    assert Settings.from_env({}).kafka.security_protocol == "PLAINTEXT"


def test_kafka_security_without_a_bootstrap_is_refused() -> None:
    """The broker tubestream runs itself is plaintext: a password for it would be a mistake somewhere."""
    with pytest.raises(ValueError, match="KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_BOOTSTRAP"):
        Settings.from_env({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})


def test_incomplete_kafka_credentials_are_refused_naming_the_variables() -> None:
    with pytest.raises(ValueError, match=r"needs a user name and a password .*KAFKA_SASL_\*"):
        Settings.from_env({"KAFKA_BOOTSTRAP": "k:9093", "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})


def test_a_certificate_turns_the_services_to_https(in_tmp: Path) -> None:
    s = Settings.from_env(
        {"TUBESTREAM_TLS_CERT_FILE": "tls/cert.pem", "TUBESTREAM_TLS_KEY_FILE": "tls/key.pem"}
    )
    assert (s.tls_cert_file, s.tls_key_file) == (in_tmp / "tls" / "cert.pem", in_tmp / "tls" / "key.pem")
    assert s.web_scheme == "https"
    assert s.upload_service_url == "https://127.0.0.1:8082"
    assert Settings.from_env({}).web_scheme == "http"
    with pytest.raises(ValueError, match="TUBESTREAM_TLS_CERT_FILE and TUBESTREAM_TLS_KEY_FILE go together"):
        Settings.from_env({"TUBESTREAM_TLS_CERT_FILE": "tls/cert.pem"})


def test_the_web_sign_in_is_on_only_with_the_machines_own_secrets() -> None:
    assert Settings.from_env({}).web_sign_in is True
    assert Settings.from_env({"TUBESTREAM_WEB_SIGN_IN": "off"}).web_sign_in is False
    for secret in (
        "TUBESTREAM_PLAYER_TOKEN_SECRET",
        "TUBESTREAM_UPLOAD_JWT_SECRET",
        "TUBESTREAM_UPLOAD_JWT_PUBLIC_KEY_FILE",
        "TUBESTREAM_PSEUDONYM_KEY",
    ):  # a secret from the environment is a production setup: its tokens come from an identity provider
        env = {secret: "/dev/null" if secret.endswith("_FILE") else "x" * 40}
        assert Settings.from_env(env).web_sign_in is False, secret
    with pytest.raises(ValueError, match="cannot be forced on"):
        Settings.from_env({"TUBESTREAM_WEB_SIGN_IN": "on"})


def test_the_collector_url_follows_the_api_host_and_collector_port() -> None:
    settings = Settings.from_env({"TUBESTREAM_API_HOST": "0.0.0.0", "TUBESTREAM_COLLECTOR_PORT": "9100"})
    assert settings.collector_service_url == "http://0.0.0.0:9100"
    public = Settings.from_env({"TUBESTREAM_COLLECTOR_URL": "https://play.example"})
    assert public.collector_service_url == "https://play.example"


def test_session_retirement_is_a_setting_that_zero_turns_off() -> None:
    def retire_after(raw: str | None) -> timedelta | None:
        env = {} if raw is None else {"TUBESTREAM_SESSION_RETIRE_MINUTES": raw}
        return Settings.from_env(env).session_retire_after

    assert (retire_after(None), retire_after("5"), retire_after("0")) == (
        timedelta(minutes=15),
        timedelta(minutes=5),
        None,
    )
    with pytest.raises(ValueError, match="TUBESTREAM_SESSION_RETIRE_MINUTES"):
        Settings.from_env({"TUBESTREAM_SESSION_RETIRE_MINUTES": "-1"})


def test_ended_sessions_retire_as_idle_ones_unless_set() -> None:
    assert Settings.from_env({}).session_retire_ended_after is None
    env = {"TUBESTREAM_SESSION_RETIRE_ENDED_MINUTES": "5"}
    assert Settings.from_env(env).session_retire_ended_after == timedelta(minutes=5)
    for wrong in ("0", "-1", "five"):
        with pytest.raises(ValueError, match="TUBESTREAM_SESSION_RETIRE_ENDED_MINUTES"):
            Settings.from_env({"TUBESTREAM_SESSION_RETIRE_ENDED_MINUTES": wrong})
