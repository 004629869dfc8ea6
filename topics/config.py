"""How to reach the log: the bootstrap servers, an optional namespace, and how clients prove who they are.

The namespace prefixes every topic and consumer group, so several
environments (or test runs) can share one cluster without seeing each
other's events.

The security settings are here, once, so every client speaks to the cluster
the same way: ``client_config`` for confluent-kafka (producers, consumers,
admin) and ``ssl_context`` for Python's own TLS (Faust, through aiokafka).
``SSL`` encrypts and checks the brokers' certificates; ``SASL_SSL`` also
logs in with a user and password (SCRAM, so the password itself never
crosses the wire). Plaintext SASL is not offered: credentials without TLS
are what a security review asks to remove.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SASL_MECHANISMS", "SECURITY_PROTOCOLS", "KafkaConfig"]

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_SSL")
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")


@dataclass(frozen=True, kw_only=True)
class KafkaConfig:
    bootstrap: str = "127.0.0.1:9092"
    namespace: str = ""
    security_protocol: str = "PLAINTEXT"
    ssl_cafile: Path | None = None  # PEM of the CA that signed the brokers' certificates; None: the system's
    ssl_certfile: Path | None = None  # a client certificate (mutual TLS), with its key
    ssl_keyfile: Path | None = None
    sasl_mechanism: str = "SCRAM-SHA-512"  # used with SASL_SSL only
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)  # never in a log line or a traceback

    def __post_init__(self) -> None:
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise ValueError(
                f"Kafka security protocol must be one of {', '.join(SECURITY_PROTOCOLS)}, "
                f"got {self.security_protocol!r}"
            )
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("a Kafka client certificate needs its key, and a key its certificate")
        uses_tls = self.security_protocol != "PLAINTEXT"
        if not uses_tls and (self.ssl_cafile or self.ssl_certfile):
            raise ValueError("Kafka TLS files are set but the security protocol is PLAINTEXT")
        has_login = self.sasl_username is not None or self.sasl_password is not None
        if self.security_protocol == "SASL_SSL":
            if not self.sasl_username or not self.sasl_password:
                raise ValueError("Kafka SASL_SSL needs a user name and a password")
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise ValueError(
                    f"Kafka SASL mechanism must be one of {', '.join(SASL_MECHANISMS)}, "
                    f"got {self.sasl_mechanism!r}"
                )
        elif has_login:
            raise ValueError(
                f"a Kafka SASL user or password is set but the security protocol is {self.security_protocol}"
            )

    def topic(self, name: str) -> str:
        """The topic's name on this cluster."""
        return f"{self.namespace}{name}"

    def group(self, name: str) -> str:
        """A consumer group id on this cluster."""
        return f"{self.namespace}{name}"

    def client_config(self, **extra: Any) -> dict[str, Any]:
        """librdkafka configuration for any confluent-kafka client: the servers and the security settings."""
        settings: dict[str, Any] = {"bootstrap.servers": self.bootstrap}
        if self.security_protocol != "PLAINTEXT":
            settings["security.protocol"] = self.security_protocol
            # check that the certificate names the broker (librdkafka's default since 2.0; said here anyway)
            settings["ssl.endpoint.identification.algorithm"] = "https"
            if self.ssl_cafile is not None:
                settings["ssl.ca.location"] = str(self.ssl_cafile)
            if self.ssl_certfile is not None and self.ssl_keyfile is not None:
                settings["ssl.certificate.location"] = str(self.ssl_certfile)
                settings["ssl.key.location"] = str(self.ssl_keyfile)
        if self.security_protocol == "SASL_SSL":
            settings["sasl.mechanisms"] = self.sasl_mechanism
            settings["sasl.username"] = self.sasl_username
            settings["sasl.password"] = self.sasl_password
        return {**settings, **extra}

    def ssl_context(self) -> ssl.SSLContext | None:
        """The same trust and client certificate for Python's TLS (aiokafka); None on PLAINTEXT."""
        if self.security_protocol == "PLAINTEXT":
            return None
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=str(self.ssl_cafile) if self.ssl_cafile else None
        )
        if self.ssl_certfile is not None and self.ssl_keyfile is not None:
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
        return context
