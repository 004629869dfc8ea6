"""Errors of the log (Kafka topics and clients).

    LogError
    ├── BrokerUnavailableError   no broker answered within the deadline
    ├── BrokerRefusedError       a broker answered but refused this client (credentials, certificate)
    ├── TopicAdminError          creating or altering a topic failed
    └── DeliveryError            the broker did not accept a produced message

confluent-kafka's ``KafkaException``/``KafkaError`` are translated into these
at the edge so callers handle one hierarchy.
"""

from __future__ import annotations

__all__ = ["BrokerRefusedError", "BrokerUnavailableError", "DeliveryError", "LogError", "TopicAdminError"]


class LogError(Exception):
    """Base of every error raised by ``topics`` and the clients built on it."""


class BrokerUnavailableError(LogError):
    """No broker could be reached."""


class BrokerRefusedError(LogError):
    """The broker answered but would not talk to this client: fix the settings, waiting will not help."""


class TopicAdminError(LogError):
    """A topic could not be created or reconciled."""


class DeliveryError(LogError):
    """A message was not acknowledged by the broker."""
