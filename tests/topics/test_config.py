"""The one Kafka config: what each security protocol gives librdkafka and Python's TLS; what it refuses."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from topics.config import KafkaConfig

from certs import self_signed_certificate


def test_plaintext_is_the_bootstrap_alone() -> None:
    config = KafkaConfig(bootstrap="k:9092")
    assert config.client_config() == {"bootstrap.servers": "k:9092"}
    assert config.client_config(**{"group.id": "g"}) == {"bootstrap.servers": "k:9092", "group.id": "g"}
    assert config.ssl_context() is None


def test_sasl_ssl_gives_every_client_the_tls_and_login_settings(tmp_path: Path) -> None:
    config = KafkaConfig(
        bootstrap="k:9093",
        security_protocol="SASL_SSL",
        ssl_cafile=tmp_path / "ca.pem",
        sasl_username="app",
        sasl_password="s3cret",
    )
    assert config.client_config(**{"client.id": "c"}) == {
        "bootstrap.servers": "k:9093",
        "security.protocol": "SASL_SSL",
        "ssl.endpoint.identification.algorithm": "https",
        "ssl.ca.location": str(tmp_path / "ca.pem"),
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "app",
        "sasl.password": "s3cret",
        "client.id": "c",
    }


def test_ssl_with_a_client_certificate(tmp_path: Path) -> None:
    cert = self_signed_certificate(tmp_path)
    config = KafkaConfig(
        bootstrap="k:9093",
        security_protocol="SSL",
        ssl_cafile=cert.cert_file,
        ssl_certfile=cert.cert_file,
        ssl_keyfile=cert.key_file,
    )
    settings = config.client_config()
    assert settings["security.protocol"] == "SSL" and "sasl.mechanisms" not in settings
    assert (settings["ssl.certificate.location"], settings["ssl.key.location"]) == (
        str(cert.cert_file),
        str(cert.key_file),
    )
    context = config.ssl_context()
    assert context is not None
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert (
        context.cert_store_stats()["x509_ca"] == 0 and context.cert_store_stats()["x509"] == 1
    )  # the file only


def test_the_password_never_shows_in_a_repr() -> None:
    config = KafkaConfig(security_protocol="SASL_SSL", sasl_username="app", sasl_password="hunter2-hunter2")
    assert "hunter2" not in repr(config) and "app" in repr(config)


@pytest.mark.parametrize(
    ("settings", "refusal"),
    [
        ({"security_protocol": "SASL_PLAINTEXT"}, "must be one of PLAINTEXT, SSL, SASL_SSL"),
        ({"security_protocol": "SASL_SSL"}, "needs a user name and a password"),
        ({"security_protocol": "SASL_SSL", "sasl_username": "app"}, "needs a user name and a password"),
        (
            {
                "security_protocol": "SASL_SSL",
                "sasl_username": "a",
                "sasl_password": "p",
                "sasl_mechanism": "GSSAPI",
            },
            "mechanism must be one of",
        ),
        ({"sasl_username": "app", "sasl_password": "p"}, "security protocol is PLAINTEXT"),
        ({"ssl_cafile": Path("ca.pem")}, "TLS files are set but the security protocol is PLAINTEXT"),
        ({"security_protocol": "SSL", "ssl_certfile": Path("c.pem")}, "needs its key"),
    ],
)
def test_settings_that_would_not_do_what_they_say_are_refused(
    settings: dict[str, object], refusal: str
) -> None:
    with pytest.raises(ValueError, match=refusal):
        KafkaConfig(**settings)  # type: ignore[arg-type]
