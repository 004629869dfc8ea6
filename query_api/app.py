"""Build the query API: the catalog reader is passed in, so tests and ``server.run`` choose the store."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from datetime import timedelta

from aiohttp import web

from blobs.multipart import MultipartBlobStore
from producers.cors import CorsPolicy, allow_cors
from query_api.analytics import BACKFILL_HORIZON, analytics_routes
from query_api.app_keys import (
    CATALOG,
    ENCODED_STATS,
    ENCODED_VIDEOS,
    MEDIA,
    MEDIA_BASE_URL,
    MEDIA_SIGNER,
    PLAYBACK,
    RECS,
    SEARCH,
)
from query_api.encoded import EncodedVideos, Memo
from query_api.errors import json_errors
from query_api.handlers import routes
from query_api.media import media_routes
from query_api.page import secure_headers_for
from query_api.recs import recs_routes
from query_api.recs_models import RecsService
from query_api.search import search_routes
from query_api.signing import MediaSigner
from query_api.site import WEB, WebSettings, site_routes
from query_api.viewers import VIEWER_AUTH, ViewerAuth
from views.catalog import CatalogReader
from views.playback import PlaybackView
from views.search.model import SearchStore

__all__ = ["create_app"]


def create_app(
    *,
    catalog: CatalogReader,
    playback: PlaybackView | None = None,
    media: MultipartBlobStore | None = None,
    search: SearchStore | None = None,
    recs: RecsService | None = None,
    media_base_url: str = "/media/",
    cors_origins: Collection[str] = ("*",),
    web_settings: WebSettings | None = None,
    backfill_horizon: timedelta | None = None,
    media_signer: MediaSigner | None = None,
    viewer_auth: ViewerAuth | None = None,
) -> web.Application:
    """The API over the views passed in; analytics, media and recs routes answer 503/404 when not given.

    ``media_base_url`` prefixes storage keys in video resources: ``/media/`` (this
    API's media route) by default, or a CDN. ``cors_origins``: the browser origins allowed
    to call the API and fetch media (``*`` for any). ``web_settings``: where the web app's
    other services are and whether it may sign people in (none: a page that only reads).
    ``media_signer``: signs unlisted and private videos' media URLs (none: a secret made for this
    app alone, so its URLs work on no other process). ``viewer_auth``: the tokens that name a viewer
    (none: every request is anonymous, and private videos are seen by no one).
    """
    app = web.Application(middlewares=[json_errors])
    allow_cors(app, _cors_policy(cors_origins))  # preflights answered before routing would say 405
    web_settings = web_settings or WebSettings()
    app.on_response_prepare.append(secure_headers_for(web_settings.connect_origins))
    app[WEB] = web_settings
    app[CATALOG] = catalog
    app[MEDIA_BASE_URL] = media_base_url
    signer = media_signer or MediaSigner(secret=secrets.token_bytes(32))
    app[MEDIA_SIGNER] = signer
    app[ENCODED_VIDEOS] = EncodedVideos(media_base_url=media_base_url, signer=signer)
    if viewer_auth is not None:
        app[VIEWER_AUTH] = viewer_auth
    # a stats answer of an hour by minute is ~20 kB, kept with its ~60 rows: 512 of them, ~25 MB at most
    app[ENCODED_STATS] = Memo(entries=512)
    if playback is not None:
        app[PLAYBACK] = playback
    if backfill_horizon is not None:  # how long playback minutes stay provisional (default 7 days)
        app[BACKFILL_HORIZON] = backfill_horizon
    if media is not None:
        app[MEDIA] = media
    if search is not None:
        app[SEARCH] = search
    if recs is not None:
        app[RECS] = recs
    app.add_routes(routes)
    app.add_routes(analytics_routes)
    app.add_routes(media_routes)
    app.add_routes(search_routes)
    app.add_routes(recs_routes)
    app.add_routes(site_routes)
    return app


def _cors_policy(origins: Collection[str]) -> CorsPolicy:
    """Players on another origin (a CDN's page, a partner's site) read the JSON API and fetch manifests
    and segments with ``Range`` and ``If-None-Match``, and read the lengths, ranges and ETags."""
    return CorsPolicy(
        origins=origins,
        methods="GET, HEAD, OPTIONS",
        headers="Range, If-None-Match, If-Modified-Since, Content-Type, Authorization",
        exposed="Content-Length, Content-Range, Accept-Ranges, ETag, Retry-After",
    )
