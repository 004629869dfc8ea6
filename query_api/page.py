"""The web app's shell page and the headers every answer carries.

The shell loads its modules and style from ``/static/`` (``script-src 'self'``);
an inline script or style, should one be added, is allowed by its SHA-256
hash only, so the Content-Security-Policy allows no other script, even one
injected through a title. The page may fetch only from this origin and the
services it is told about (collector, upload service, a media CDN). Every
answer says ``nosniff`` and names no server version.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from functools import cache
from importlib import resources

from aiohttp import web

__all__ = ["SERVER_NAME", "page_csp", "page_html", "secure_headers_for"]

SERVER_NAME = "tubestream"
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


@cache
def page_html() -> str:
    return resources.files("query_api").joinpath("index.html").read_text(encoding="utf-8")


@cache
def page_csp(connect_origins: tuple[str, ...] = ()) -> str:
    """``connect_origins``: the other origins the page calls and plays from (collector, uploads, CDN)."""
    others = " ".join(connect_origins)
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in _INLINE.findall(page_html()):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {' '.join(hashes['script'])}".rstrip(),
            f"style-src 'self' {' '.join(hashes['style'])}".rstrip(),
            f"connect-src 'self' {others}".rstrip(),
            f"img-src 'self' data: blob: {others}".rstrip(),
            f"media-src 'self' blob: {others}".rstrip(),
            "worker-src 'self' blob:",  # hls.js transmuxes in a worker made from a blob
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


Hook = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


def secure_headers_for(connect_origins: tuple[str, ...] = ()) -> Hook:
    """``on_response_prepare``: for every answer, errors and files included."""

    async def secure_headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Server"] = SERVER_NAME
        response.headers["X-Content-Type-Options"] = "nosniff"
        if response.content_type == "text/html":
            response.headers["Content-Security-Policy"] = page_csp(connect_origins)
            response.headers["Referrer-Policy"] = "no-referrer"

    return secure_headers
