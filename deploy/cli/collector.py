"""The playback collector's commands: run the ``collector``, issue a ``player-token``."""

from __future__ import annotations

import argparse

from deploy.cli.parsing import Subparsers
from deploy.settings import Settings

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    collector = sub.add_parser("collector", help="run the playback collector (players' events)")
    collector.set_defaults(handler=_collector)

    token = sub.add_parser("player-token", help="issue a player token, for trying the collector")
    token.add_argument("viewer", metavar="VIEWER", help="the viewer's id (pseudonymized before Kafka)")
    token.add_argument("--ttl", type=int, default=6 * 3600, help="seconds until it expires")
    token.set_defaults(handler=_player_token)


def _collector(args: argparse.Namespace, settings: Settings) -> int:
    from deploy.secrets import local_secret
    from deploy.serving import http_edge
    from producers.collector.server import run

    edge = http_edge(settings)
    run(
        kafka=settings.kafka,
        host=settings.api_host,
        port=settings.collector_port,
        token_secret=local_secret(settings.home, "player-token", configured=settings.player_token_secret),
        pseudonym_key=local_secret(settings.home, "pseudonym", configured=settings.pseudonym_key).encode(),
        ssl_context=edge.ssl_context,
        access_log_class=edge.access_log_class,
        cors_origins=settings.cors_origins,
        backfill_horizon=settings.backfill_horizon,
    )
    return 0


def _player_token(args: argparse.Namespace, settings: Settings) -> int:
    from deploy.secrets import local_secret
    from producers.collector.tokens import PlayerTokens

    secret = local_secret(settings.home, "player-token", configured=settings.player_token_secret)
    print(PlayerTokens(secret).issue(args.viewer, ttl_s=args.ttl))
    return 0
