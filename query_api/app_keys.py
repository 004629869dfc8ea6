"""What the app holds for its routes (the views it reads, the media base): one module, so route
modules can share them without importing each other."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from blobs.multipart import MultipartBlobStore
from query_api.encoded import EncodedVideos, Memo
from query_api.recs_models import RecsService
from query_api.signing import MediaSigner
from views.catalog import CatalogReader
from views.playback import PlaybackView
from views.search.model import SearchStore

__all__ = [
    "CATALOG",
    "ENCODED_STATS",
    "ENCODED_VIDEOS",
    "MEDIA",
    "MEDIA_BASE_URL",
    "MEDIA_SIGNER",
    "PLAYBACK",
    "RECS",
    "SEARCH",
]

CATALOG = web.AppKey("catalog", CatalogReader)
PLAYBACK = web.AppKey("playback", PlaybackView)
SEARCH = web.AppKey("search", SearchStore)
RECS = web.AppKey("recs", RecsService)
MEDIA = web.AppKey("media", MultipartBlobStore)
MEDIA_BASE_URL = web.AppKey("media_base_url", str)
MEDIA_SIGNER = web.AppKey("media_signer", MediaSigner)  # signs and checks unlisted and private videos' URLs
ENCODED_VIDEOS = web.AppKey("encoded_videos", EncodedVideos)  # resources under this app's media base
# (video, from, to, step in ms, settled until, final until)
ENCODED_STATS = web.AppKey("encoded_stats", Memo[tuple[str, int, int, int, datetime, datetime]])
