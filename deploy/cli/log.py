"""The log by hand: ``topics apply|list``, ``publish`` events written as JSON, ``tail`` a topic.

Each first checks that the cluster answers and accepts this client, so a wrong
password or certificate ends in one line at once, not in a timeout that says
"transport failure" half a minute later.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from deploy.cli.parsing import Subparsers
from deploy.settings import Settings

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    topics = sub.add_parser("topics", help="the topic catalogue on the cluster")
    topics_sub = topics.add_subparsers(metavar="ACTION", required=True)
    topics_sub.add_parser("apply", help="create and reconcile every topic").set_defaults(
        handler=_topics_apply
    )
    topics_sub.add_parser("list", help="partitions and end offsets").set_defaults(handler=_topics_list)

    publish = sub.add_parser("publish", help="publish events written as JSON")
    publish.add_argument("event_type", metavar="TYPE", help="e.g. upload-complete")
    publish.add_argument("file", metavar="FILE", help="JSON object, array or JSON lines; - for stdin")
    publish.add_argument("--schema-version", type=int, help="write with an older schema version")
    publish.set_defaults(handler=_publish)

    tail = sub.add_parser("tail", help="print a topic's messages so far as JSON lines")
    tail.add_argument(
        "topic", metavar="TOPIC", help="catalogue name, e.g. playback-event or upload-complete.dlq"
    )
    tail.set_defaults(handler=_tail)


_KAFKA_WAIT_S = 30.0


def _reach_kafka(settings: Settings) -> None:
    from topics.admin import wait_for_broker

    wait_for_broker(settings.kafka, timeout_s=_KAFKA_WAIT_S)


def _topics_apply(args: argparse.Namespace, settings: Settings) -> int:
    from topics.admin import apply_topics

    _reach_kafka(settings)
    for change in apply_topics(settings.kafka):
        detail = f" ({change.detail})" if change.detail else ""
        print(f"{change.action:>10}  {change.topic}{detail}")
    return 0


def _topics_list(args: argparse.Namespace, settings: Settings) -> int:
    from topics.admin import describe_topics

    _reach_kafka(settings)
    print(f"{'topic':<40} {'partitions':>10} {'messages':>10}")
    for state in describe_topics(settings.kafka):
        if not state.exists:
            print(f"{state.topic:<40} {'missing':>10} {'-':>10}")
            continue
        print(f"{state.topic:<40} {state.partitions:>10} {state.messages:>10}")
    return 0


def _publish(args: argparse.Namespace, settings: Settings) -> int:
    from producers.json_publisher import parse_json_documents, publish_json
    from schemas.registry import event_type_named
    from topics.producer import EventProducer

    event_type = event_type_named(args.event_type)
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    objects = parse_json_documents(text)
    _reach_kafka(settings)
    with EventProducer(settings.kafka, client_id="tubestream-publish") as producer:
        ids = publish_json(producer, event_type, objects, version=args.schema_version)
    for event_id in ids:
        print(event_id)
    print(f"published {len(ids)} {event_type.name} event(s)", file=sys.stderr)
    return 0


def _tail(args: argparse.Namespace, settings: Settings) -> int:
    from topics.catalogue import topic_for
    from topics.log import read_to_end
    from topics.tail import record_as_json

    spec = topic_for(args.topic)
    _reach_kafka(settings)
    for record in read_to_end(settings.kafka, [settings.kafka.topic(spec.name)]):
        print(json.dumps(record_as_json(record), ensure_ascii=False))
    return 0
