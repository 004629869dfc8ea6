"""Benchmark: what signing costs, side by side with the plain reads it sits beside, in one run.

    python benchmarks/signed_media.py [--requests 2000] [--rounds 5]

One in-process query API (aiohttp's test server, the real middlewares) over a
SQLite catalog file holding a public and an unlisted video, and a local blob
store with a 64 kB segment of each. Each round sends ``--requests`` sequential
requests to each path (after an untimed warm-up), alternating their order, timed from the client:

- ``resource public``    ``GET /v1/videos/{public}``: plain URLs (the baseline)
- ``resource unlisted``  ``GET /v1/videos/{unlisted}``: URLs signed, the bytes kept per expiry rounding
- ``media public``       ``GET /media/videos/{public}/...``: an unsigned file, the catalog read for its
  visibility (the baseline)
- ``media signed``       ``GET /media/s/{expires}/{sig}/videos/{unlisted}/...``: HMAC checked, no read

and prints the medians of the rounds (µs a request) and the ratio to each pair's baseline, then the
pure cost of one ``MediaSigner.prefix`` and one ``verify``, and of the catalog read an unsigned media
request now makes (``visibility_of``, what the check adds to a public file).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from blobs.local import LocalBlobStore
from query_api.app import create_app
from query_api.signing import MediaSigner
from views.catalog import VideoRecord, VideoStatus, Visibility
from views.stores import open_catalog_store

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _video(video_id: str, visibility: Visibility) -> VideoRecord:
    job = f"videos/{video_id}/j1"
    return VideoRecord(
        video_id=video_id,
        status=VideoStatus.READY,
        updated_at=T0,
        created_at=T0,
        title=f"Video {video_id}",
        visibility=visibility,
        hls_master_key=f"{job}/master.m3u8",
        dash_manifest_key=f"{job}/manifest.mpd",
        poster_key=f"{job}/poster.jpg",
    )


async def run(requests: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        catalog = open_catalog_store(f"sqlite:///{tmp}/catalog.db")
        blobs = LocalBlobStore(Path(tmp) / "blobs")
        for video_id, visibility in (("pub", Visibility.PUBLIC), ("unl", Visibility.UNLISTED)):
            await catalog.put(_video(video_id, visibility))
            blobs.put_bytes(f"videos/{video_id}/j1/360p/seg-00001.m4s", bytes(64 * 1024))
        signer = MediaSigner(secret=b"b" * 32)
        app = create_app(catalog=catalog, media=blobs, media_signer=signer)
        async with TestClient(TestServer(app)) as client:
            signed = (await (await client.get("/v1/videos/unl")).json())["hls_url"].split("/videos/")[0]
            paths = {
                "resource public": "/v1/videos/pub",
                "resource unlisted": "/v1/videos/unl",
                "media public": "/media/videos/pub/j1/360p/seg-00001.m4s",
                "media signed": f"{signed}/videos/unl/j1/360p/seg-00001.m4s",
            }
            for path in paths.values():  # warm up: the first reads open connections and fill memories
                for _ in range(200):
                    async with client.get(path) as response:
                        await response.read()
            results: dict[str, list[float]] = {name: [] for name in paths}
            for r in range(rounds):
                order = list(paths) if r % 2 == 0 else list(reversed(paths))
                for name in order:
                    start = time.perf_counter()
                    for _ in range(requests):
                        async with client.get(paths[name]) as response:
                            assert response.status == 200, (name, response.status)
                            await response.read()
                    results[name].append((time.perf_counter() - start) / requests * 1e6)
        start = time.perf_counter()
        for _ in range(requests):
            await catalog.visibility_of("pub")
        read_us = (time.perf_counter() - start) / requests * 1e6
        await catalog.close()
    medians = {name: statistics.median(times) for name, times in results.items()}
    print(f"{requests} requests x {rounds} rounds, medians of the rounds (µs a request, client side)")
    for name, baseline in (
        ("resource public", "resource public"),
        ("resource unlisted", "resource public"),
        ("media public", "media public"),
        ("media signed", "media public"),
    ):
        print(f"  {name:18} {medians[name]:8.1f}  x{medians[name] / medians[baseline]:.2f} of {baseline}")
    n = 100_000
    start = time.perf_counter()
    for i in range(n):
        signer.prefix(f"v{i % 100}", now=1_800_000_000)
    sign_us = (time.perf_counter() - start) / n * 1e6
    _, expires, signature, _ = signer.prefix("unl", now=time.time()).split("/")
    start = time.perf_counter()
    for _ in range(n):
        signer.verify(
            expires=expires, signature=signature, key="videos/unl/j1/360p/seg-00001.m4s", now=time.time()
        )
    verify_us = (time.perf_counter() - start) / n * 1e6
    print(f"  sign one prefix {sign_us:.2f} µs, verify one request {verify_us:.2f} µs")
    print(f"  the unsigned route's visibility read (SQLite catalog) {read_us:.1f} µs")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
