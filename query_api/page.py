"""The web page and the headers every answer carries.

The page's inline script and style are allowed by their SHA-256 hashes, so its
Content-Security-Policy allows no other script, even one injected through a
title. Every answer says ``nosniff`` and names no server version.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib import resources

from aiohttp import web

__all__ = ["SERVER_NAME", "page_csp", "page_html", "secure_headers"]

SERVER_NAME = "tubestream"
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


@cache
def page_html() -> str:
    return resources.files("query_api").joinpath("index.html").read_text(encoding="utf-8")


@cache
def page_csp() -> str:
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in _INLINE.findall(page_html()):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {' '.join(hashes['script'])}".rstrip(),
            f"style-src 'self' {' '.join(hashes['style'])}".rstrip(),
            "img-src 'self' data: blob:",
            "media-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


async def secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: for every answer, errors and files included."""
    response.headers["Server"] = SERVER_NAME
    response.headers["X-Content-Type-Options"] = "nosniff"
    if response.content_type == "text/html":
        response.headers["Content-Security-Policy"] = page_csp()
        response.headers["Referrer-Policy"] = "no-referrer"
