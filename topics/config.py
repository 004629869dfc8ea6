"""How to reach the log: the bootstrap servers and an optional namespace.

The namespace prefixes every topic and consumer group, so several
environments (or test runs) can share one cluster without seeing each
other's events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["KafkaConfig"]


@dataclass(frozen=True, kw_only=True)
class KafkaConfig:
    bootstrap: str = "127.0.0.1:9092"
    namespace: str = ""

    def topic(self, name: str) -> str:
        """The topic's name on this cluster."""
        return f"{self.namespace}{name}"

    def group(self, name: str) -> str:
        """A consumer group id on this cluster."""
        return f"{self.namespace}{name}"

    def client_config(self, **extra: Any) -> dict[str, Any]:
        """librdkafka configuration for any confluent-kafka client."""
        return {"bootstrap.servers": self.bootstrap, **extra}
