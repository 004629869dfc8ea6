"""``tubestream search rebuild|evaluate`` and the local ``elasticsearch`` server."""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from deploy.cli.parsing import Subparsers
from deploy.settings import Settings

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    search = sub.add_parser("search", help="the search view: rebuild it, measure its relevance")
    search_sub = search.add_subparsers(metavar="ACTION", required=True)
    rebuild = search_sub.add_parser(
        "rebuild", help="replay the catalog's topics into a new index and swap it in (no downtime)"
    )
    rebuild.add_argument("--into", metavar="URL", help="search store URL (default: TUBESTREAM_SEARCH_URL)")
    rebuild.set_defaults(handler=_rebuild)
    evaluate = search_sub.add_parser(
        "evaluate", help="known-item MRR and recall@10 per query kind, on a catalog of your own"
    )
    evaluate.add_argument(
        "--catalog", type=Path, required=True, metavar="FILE", help="JSON lines, or vega's movies.json"
    )
    evaluate.add_argument(
        "--elasticsearch",
        metavar="URL",
        help="also evaluate an Elasticsearch (in a scratch index)",
    )
    evaluate.add_argument("--per-kind", type=int, default=200, help="queries of each kind (default 200)")
    evaluate.add_argument("--seed", type=int, default=7)
    evaluate.add_argument("--json", action="store_true", help="the same results as JSON")
    evaluate.set_defaults(handler=_evaluate)

    es = sub.add_parser("elasticsearch", help="a local single-node Elasticsearch, from Maven Central")
    es_sub = es.add_subparsers(metavar="ACTION", required=True)
    for action, text in (
        ("fetch", "download it into the cache (about 110 MB, once)"),
        ("start", "start it in the background (reuses a running one)"),
        ("stop", "stop it"),
        ("status", "say whether it answers"),
    ):
        es_sub.add_parser(action, help=text).set_defaults(handler=_elasticsearch, action=action)


def _rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from stream_apps.search.rebuild import rebuild_search
    from views.stores import open_catalog_store, open_playback_store, open_search_store

    url = args.into or settings.search_url

    async def run() -> Any:
        search = open_search_store(url)
        playback = open_playback_store(settings.playback_url)
        catalog = open_catalog_store(settings.catalog_url)
        try:
            return await rebuild_search(settings.kafka, search, playback=playback, live_catalog=catalog)
        finally:
            await catalog.close()
            await playback.close()
            await search.close()

    report = asyncio.run(run())
    print(
        f"replayed {report.messages} message(s), {report.rejected} rejected; {report.documents} document(s) "
        f"swapped into {url}; {report.caught_up} indexed again from the live catalog"
    )
    return 0


def _evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from stream_apps.search.evaluate import evaluate_store, index_catalog
    from stream_apps.search.known_items import QUERY_KINDS, catalog_from_json, known_item_queries
    from views.stores import open_search_store

    if args.per_kind < 1:
        raise ValueError("--per-kind must be at least 1")
    items = catalog_from_json(args.catalog.read_text())
    queries = known_item_queries(items, per_kind=args.per_kind, seed=args.seed)

    async def run(url: str) -> tuple[float, Any]:
        store = open_search_store(url)
        try:
            rate = await index_catalog(store, items)
            return rate, await evaluate_store(store, queries)
        finally:
            await store.close()

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tubestream-eval-") as scratch:
        backends = {"sqlite": f"sqlite:///{Path(scratch) / 'search.db'}"}
        if args.elasticsearch:
            index = f"tubestream-eval-{uuid.uuid4().hex[:8]}"
            sep = "&" if "?" in args.elasticsearch else "?"
            backends["elasticsearch"] = f"{args.elasticsearch}{sep}index={index}&refresh=false"
        for name, url in backends.items():
            rate, scores = asyncio.run(run(url))
            results[name] = {"documents_per_s": rate, "kinds": {s.kind: asdict(s) for s in scores}}
    if args.json:
        print(json.dumps({"catalog": str(args.catalog), "items": len(items), "backends": results}, indent=2))
        return 0
    print(f"{len(items)} items, {len(queries)} known-item queries ({args.per_kind} per kind at most)")
    header = "".join(f"{name + ' MRR':>20}{'R@10':>8}" for name in results)
    print(f"{'kind':<16}{header}")
    for kind in QUERY_KINDS:
        cells = ""
        for backend in results.values():
            score = backend["kinds"].get(kind)
            cells += f"{score['mrr']:>20.3f}{score['recall_at_10']:>8.3f}" if score else f"{'-':>20}{'-':>8}"
        print(f"{kind:<16}{cells}")
    for name, backend in results.items():
        print(f"{name}: indexed {backend['documents_per_s']:,.0f} documents/s")
    return 0


def _elasticsearch(args: argparse.Namespace, settings: Settings) -> int:
    from deploy.local_elasticsearch import LocalElasticsearch

    server = LocalElasticsearch(settings.home / "elasticsearch", port=settings.elasticsearch_port)
    if args.action == "fetch":
        server.fetch()
        print(f"Elasticsearch is in {server.dist}")
    elif args.action == "start":
        started = server.start()
        print(f"Elasticsearch {'started' if started else 'already running'} on {server.url}")
        print(f"  TUBESTREAM_SEARCH_URL={server.url}")
    elif args.action == "stop":
        print(
            "Elasticsearch stopped" if server.stop() else "no Elasticsearch started by tubestream is running"
        )
    else:
        status = server.status()
        print(f"Elasticsearch {'answers' if status.running else 'is not running'} on {status.url}")
        return 0 if status.running else 3
    return 0
