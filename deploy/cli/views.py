"""The views as processes (``worker``, ``api``), and their stores: ``catalog rebuild``, ``views migrate``."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from deploy.blob_store import blob_store_for
from deploy.cli.parsing import Subparsers
from deploy.settings import Settings

if TYPE_CHECKING:
    from query_api.site import WebSettings

__all__ = ["register", "web_settings_for"]


def register(sub: Subparsers) -> None:
    worker = sub.add_parser("worker", help="run the stream processors (Faust) that build the views")
    worker.add_argument("--loglevel", default="info")
    worker.set_defaults(handler=_worker)

    api = sub.add_parser("api", help="run the query API")
    api.add_argument(
        "--processes",
        type=_processes,
        default=1,
        metavar="N",
        help="serve from N processes sharing the port (SO_REUSEPORT): one core each; a process that "
        "exits is started again while the others serve (default 1)",
    )
    api.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)  # one of --processes
    api.set_defaults(handler=_api)

    catalog = sub.add_parser("catalog", help="the catalog view")
    catalog_sub = catalog.add_subparsers(metavar="ACTION", required=True)
    rebuild = catalog_sub.add_parser("rebuild", help="rebuild the view by replaying its topics from offset 0")
    rebuild.add_argument("--into", metavar="URL", help="store URL to rebuild into (default: the catalog's)")
    rebuild.set_defaults(handler=_catalog_rebuild)

    views = sub.add_parser("views", help="the view stores")
    views_sub = views.add_subparsers(metavar="ACTION", required=True)
    migrate = views_sub.add_parser(
        "migrate", help="create or upgrade the schema of the view stores (Cassandra; SQLite needs none)"
    )
    migrate.add_argument("--catalog-url", metavar="URL", help="the catalog store (default: the settings')")
    migrate.add_argument("--playback-url", metavar="URL", help="the playback store (default: the settings')")
    migrate.set_defaults(handler=_views_migrate)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from stream_apps.worker import build_worker_app, run_worker

    app = build_worker_app(
        settings.kafka,
        catalog_url=settings.catalog_url,
        datadir=settings.home / "faust",
        search_url=settings.search_url,
        playback_url=settings.playback_url,
    )
    run_worker(app, loglevel=args.loglevel)


def _processes(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        raise argparse.ArgumentTypeError(f"expected a number of processes from 1 to 64, got {raw!r}")
    return int(raw)


def _api(args: argparse.Namespace, settings: Settings) -> int:
    if args.processes > 1:
        return _api_processes(args.processes)
    from deploy.serving import http_edge
    from query_api.server import run

    edge = http_edge(settings)
    run(
        catalog_url=settings.catalog_url,
        playback_url=settings.playback_url,
        search_url=settings.search_url,
        recs_url=settings.recs_url,
        kafka=settings.kafka,
        media=blob_store_for(settings),
        host=settings.api_host,
        port=settings.api_port,
        media_base_url=settings.media_base_url,
        cors_origins=settings.cors_origins,
        web_settings=web_settings_for(settings),
        backfill_horizon=settings.backfill_horizon,
        media_signer=_media_signer(settings),
        viewer_auth=_viewer_auth(settings),
        ssl_context=edge.ssl_context,
        access_log_class=edge.access_log_class,
        reuse_port=args.reuse_port,
    )
    return 0


def _api_processes(count: int) -> int:
    """``count`` API processes on one port, each started again a second after it exits on its own.

    The views are shared stores and every answer is made from what a request
    reads, so any process answers any request; what each keeps in memory (decoded
    rows, encoded answers) is its own, checked against the store on each read.
    """
    import sys

    from deploy.supervisor import Component, Supervisor

    supervisor = Supervisor()
    for i in range(count):
        argv = [sys.executable, "-m", "deploy.cli", "api", "--reuse-port"]
        supervisor.start(Component(f"api-{i + 1}", argv, group="api", restart_after_s=1.0))
    return supervisor.wait()


def _media_signer(settings: Settings) -> Any:
    """Signs unlisted and private videos' media URLs with the deployment's secret."""
    from deploy.secrets import local_secret
    from query_api.signing import MediaSigner

    secret = local_secret(settings.home, "media-signing", configured=settings.media_signing_secret)
    return MediaSigner(secret=secret.encode(), ttl_s=settings.signed_media_ttl_s)


def _viewer_auth(settings: Settings) -> Any:
    """The API names a viewer by the tokens the platform hands out already: a player or an upload token."""
    from deploy.cli.uploads import _uploader_auth
    from deploy.secrets import local_secret
    from producers.collector.tokens import PlayerTokens
    from query_api.viewers import ViewerAuth

    player_secret = local_secret(settings.home, "player-token", configured=settings.player_token_secret)
    return ViewerAuth(player_tokens=PlayerTokens(player_secret), uploader_auth=_uploader_auth(settings))


def web_settings_for(settings: Settings) -> WebSettings:
    """Where the page finds the collector and the upload service, and the embedded sign-in if allowed."""
    from urllib.parse import parse_qs, urlsplit

    from deploy.cli.uploads import _uploader_auth
    from deploy.secrets import local_secret
    from producers.collector.pseudonyms import Pseudonymizer
    from producers.collector.tokens import PlayerTokens
    from query_api.site import SignIn, WebSettings

    sign_in = None
    if settings.web_sign_in:
        home = settings.home
        sign_in = SignIn(
            player_tokens=PlayerTokens(local_secret(home, "player-token")),
            uploader_auth=_uploader_auth(settings),
            pseudonyms=Pseudonymizer(local_secret(home, "pseudonym").encode()),
        )
    urls = [settings.collector_service_url, settings.upload_service_url, settings.media_base_url]
    if settings.blob_url.startswith("s3://"):  # parts go straight to S3: its public endpoint
        query = parse_qs(urlsplit(settings.blob_url).query)
        urls += query.get("public_endpoint", query.get("endpoint", []))
    origins = {f"{u.scheme}://{u.netloc}" for u in map(urlsplit, urls) if u.scheme and u.netloc}
    return WebSettings(
        collector_url=settings.collector_service_url,
        upload_url=settings.upload_service_url,
        sign_in=sign_in,
        connect_origins=tuple(sorted(origins)),
    )


def _catalog_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from stream_apps.catalog.rebuild import rebuild_catalog
    from views.stores import open_catalog_store

    url = args.into or settings.catalog_url

    async def rebuild() -> Any:
        store = open_catalog_store(url)
        try:
            return await rebuild_catalog(settings.kafka, store)
        finally:
            await store.close()

    report = asyncio.run(rebuild())
    print(
        f"replayed {report.messages} message(s), {report.rejected} rejected; "
        f"{report.videos} video(s) in {url}"
    )
    return 0


def _views_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from views.stores import migrate_store

    print(migrate_store(args.catalog_url or settings.catalog_url, view="catalog"), flush=True)
    print(migrate_store(args.playback_url or settings.playback_url, view="playback"))
    return 0
