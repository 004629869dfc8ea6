"""Build the Faust app; the views register their topics and agents on it (see ``catalog.py``).

Topics are created by ``tubestream topics apply`` from the catalogue, never
declared by Faust with its own defaults, and Faust's web server and leader
topic are off: the query API is the platform's HTTP face, and no agent here
needs a leader yet.
"""

from __future__ import annotations

from pathlib import Path

import faust

from topics.config import KafkaConfig

__all__ = ["create_app"]


def create_app(name: str, kafka: KafkaConfig, *, datadir: Path) -> faust.App:
    """One Faust app = one consumer group; ``name`` is its id before the namespace."""
    return faust.App(
        kafka.group(name),
        broker=f"kafka://{kafka.bootstrap}",
        datadir=str(datadir),
        store="memory://",
        web_enabled=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",  # a new group reads the whole log: views are rebuilds
        producer_acks=-1,
        broker_commit_interval=1.0,
    )
