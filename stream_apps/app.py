"""Build the Faust app; the views register their topics and agents on it (see ``catalog.py``).

Topics are created by ``tubestream topics apply`` from the catalogue, never
declared by Faust with its own defaults, and Faust's web server and leader
topic are off: the query API is the platform's HTTP face, and no agent here
needs a leader yet. The broker credentials are the ones every other client
uses (``KafkaConfig``), in Faust's terms.
"""

from __future__ import annotations

from pathlib import Path

import faust
from faust.types.auth import CredentialsT

from topics.config import KafkaConfig

__all__ = ["broker_credentials", "create_app"]


def create_app(name: str, kafka: KafkaConfig, *, datadir: Path) -> faust.App:
    """One Faust app = one consumer group; ``name`` is its id before the namespace."""
    return faust.App(
        kafka.group(name),
        broker=f"kafka://{kafka.bootstrap}",
        broker_credentials=broker_credentials(kafka),
        datadir=str(datadir),
        store="memory://",
        web_enabled=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",  # a new group reads the whole log: views are rebuilds
        producer_acks=-1,
        broker_commit_interval=1.0,
        broker_session_timeout=10.0,  # a dead worker's partitions move on in seconds (Faust's default: 60)
    )


def broker_credentials(kafka: KafkaConfig) -> CredentialsT | None:
    """SASL over TLS, TLS alone, or nothing (PLAINTEXT): what aiokafka needs to log in."""
    context = kafka.ssl_context()
    if kafka.security_protocol == "SASL_SSL":
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password,
            ssl_context=context,
            mechanism=kafka.sasl_mechanism,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None
