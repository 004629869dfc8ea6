"""The Faust app logs in as every other client does: ``KafkaConfig``'s security in Faust's credentials."""

from __future__ import annotations

from pathlib import Path

import faust

from stream_apps.app import broker_credentials, create_app
from topics.config import KafkaConfig

from certs import self_signed_certificate


def test_plaintext_needs_no_credentials() -> None:
    assert broker_credentials(KafkaConfig()) is None


def test_sasl_ssl_is_scram_over_tls_with_the_configured_ca(tmp_path: Path) -> None:
    ca = self_signed_certificate(tmp_path).cert_file
    kafka = KafkaConfig(security_protocol="SASL_SSL", ssl_cafile=ca, sasl_username="app", sasl_password="pw")
    credentials = broker_credentials(kafka)

    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.protocol.value, credentials.mechanism.value) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (credentials.username, credentials.password) == ("app", "pw")
    assert credentials.ssl_context is not None
    assert credentials.ssl_context.cert_store_stats()["x509"] == 1  # the CA file, not the system's
    app = create_app("t", kafka, datadir=tmp_path)
    assert isinstance(app.conf.broker_credentials, faust.SASLCredentials)  # what the app is built with


def test_ssl_alone_is_tls_credentials(tmp_path: Path) -> None:
    ca = self_signed_certificate(tmp_path).cert_file
    credentials = broker_credentials(KafkaConfig(security_protocol="SSL", ssl_cafile=ca))
    assert isinstance(credentials, faust.SSLCredentials)
    assert credentials.protocol.value == "SSL"
