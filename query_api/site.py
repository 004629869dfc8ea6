"""The web app's routes: its pages, its static files, where its other services are, and the sign-in.

Every page is the one shell (``index.html``) whose modules under ``/static/``
draw it from the JSON API; the players (hls.js, dash.js) come from the npm
packages ``deploy/setup.sh`` installs into ``web/node_modules`` and are served
from ``/static/vendor/``, never from a CDN. The browser reaches the collector
and the upload service directly (they answer CORS): ``/web/config.json`` says
where they are.

The sign-in (``POST /web/sign-in``) issues a player token, an upload token and
the viewer's pseudonym from this machine's own secrets. It exists only in the
embedded setup: where the secrets come from the environment, tokens come from
the platform's identity provider, and the route answers 403.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from producers.collector.pseudonyms import Pseudonymizer
from producers.collector.tokens import PlayerTokens
from producers.uploads.auth import UploaderAuth
from query_api.errors import ApiError, BadRequestError, NotFoundError
from query_api.page import page_html

__all__ = ["WEB", "SignIn", "WebSettings", "site_routes", "web_paths"]

WEB_ROOT = Path(__file__).resolve().parent / "web"
# The players' ES-module builds, under the names the pages import them by.
VENDOR = {
    "hls.mjs": "hls.js/dist/hls.min.mjs",
    "dash.mjs": "dashjs/dist/modern/esm/dash.all.min.js",
}
MAX_NAME = 64
PLAYER_TTL_S = 6 * 3600
UPLOAD_TTL_S = 24 * 3600
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True, kw_only=True)
class SignIn:
    """The embedded setup's own secrets: what the collector and the upload service verify with."""

    player_tokens: PlayerTokens
    uploader_auth: UploaderAuth
    pseudonyms: Pseudonymizer


@dataclass(frozen=True, kw_only=True)
class WebSettings:
    collector_url: str | None = None  # None: the page sends no playback analytics
    upload_url: str | None = None  # None: the upload page says uploads are off
    sign_in: SignIn | None = None  # None: tokens come from an identity provider
    connect_origins: tuple[str, ...] = ()  # other origins the page fetches from (CSP connect-src)
    root: Path = field(default=WEB_ROOT)


WEB = web.AppKey("web", WebSettings)

site_routes = web.RouteTableDef()


class _Forbidden(ApiError):
    status = 403


def _web(request: web.Request) -> WebSettings:
    return request.app.get(WEB) or WebSettings()


@site_routes.get("/watch/{video_id}")
@site_routes.get("/upload")
@site_routes.get("/search")
async def page(request: web.Request) -> web.Response:
    """Every page is the shell; its script reads the path."""
    return web.Response(text=page_html(), content_type="text/html")


@site_routes.get("/web/config.json")
async def config(request: web.Request) -> web.Response:
    settings = _web(request)
    return web.json_response(
        {
            "collector_url": settings.collector_url,
            "upload_url": settings.upload_url,
            "sign_in": settings.sign_in is not None,
        },
        headers={"Cache-Control": "no-cache"},
    )


@site_routes.post("/web/sign-in")
async def sign_in(request: web.Request) -> web.Response:
    """``{"name": "ada"}`` signs in a user; ``{}`` gets a guest (a player token for a fresh device id)."""
    issuer = _web(request).sign_in
    if issuer is None:
        raise _Forbidden("sign-in is off on this server: tokens come from the platform's identity provider")
    name = _name(await _body(request))
    viewer = name or f"guest-{uuid.uuid4().hex}"
    answer: dict[str, Any] = {
        "viewer": viewer,
        "guest": name is None,
        "pseudonym": issuer.pseudonyms.user(viewer),
        "player_token": issuer.player_tokens.issue(viewer, ttl_s=PLAYER_TTL_S),
        "player_token_expires_in_s": PLAYER_TTL_S,
        "upload_token": None,
    }
    if name is not None:
        answer["upload_token"] = issuer.uploader_auth.issue(name, ttl_s=UPLOAD_TTL_S)
    return web.json_response(answer, headers={"Cache-Control": "no-store"})


@site_routes.get("/static/vendor/{name}")
async def vendor(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in VENDOR:
        raise NotFoundError(f"no vendor file {name!r}; known: {', '.join(VENDOR)}")
    path = _web(request).root / "node_modules" / VENDOR[name]
    if not path.is_file():
        raise NotFoundError(f"{name} is not installed: run deploy/setup.sh (npm ci in query_api/web)")
    return _file(path, cache="public, max-age=86400")


@site_routes.get("/static/{path:.+}")
async def static(request: web.Request) -> web.StreamResponse:
    root = (_web(request).root / "static").resolve()
    path = (root / request.match_info["path"]).resolve()
    if not path.is_relative_to(root) or not path.is_file() or path.suffix not in _TYPES:
        raise NotFoundError(f"no static file {request.match_info['path']!r}")
    return _file(path, cache="no-cache")  # revalidated by Last-Modified: a new version shows at once


def _file(path: Path, *, cache: str) -> web.FileResponse:
    response = web.FileResponse(path, headers={"Cache-Control": cache})
    response.content_type = _TYPES.get(path.suffix, "application/octet-stream")
    return response


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequestError(f"the body is not JSON: {str(exc)[:100]}") from exc
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object")
    return body


def _name(body: dict[str, Any]) -> str | None:
    raw = body.get("name")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise BadRequestError("name must be a string")
    name = raw.strip()
    if not name:
        return None
    if len(name) > MAX_NAME or not name.isprintable():
        raise BadRequestError(f"name must be 1-{MAX_NAME} printable characters")
    if name.startswith("guest-"):
        raise BadRequestError("names starting with guest- are kept for guests")
    return name


def web_paths() -> dict[str, Any]:
    """The web app's routes in the OpenAPI document."""
    html = {"200": {"description": "The web app's shell page", "content": {"text/html": {}}}}
    error = {"$ref": "#/components/responses/Error"}
    path_param = {"in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "/": {"get": {"summary": "The web app: trending, newest and recommended videos", "responses": html}},
        "/watch/{video_id}": {
            "get": {
                "summary": "The web app: a video's player, details, stats and related videos",
                "parameters": [{"name": "video_id", **path_param}],
                "responses": html,
            }
        },
        "/search": {"get": {"summary": "The web app: search results (q)", "responses": html}},
        "/upload": {"get": {"summary": "The web app: upload a video", "responses": html}},
        "/web/config.json": {
            "get": {
                "summary": "Where the page reaches the collector and the upload service; whether it signs in",
                "responses": {"200": {"description": "collector_url, upload_url, sign_in"}},
            }
        },
        "/web/sign-in": {
            "post": {
                "summary": "Embedded setup only: a player token, an upload token and the viewer's pseudonym "
                'for {"name"}, or a guest player token for {}',
                "responses": {"200": {"description": "Tokens"}, "400": error, "403": error},
            }
        },
        "/static/vendor/{name}": {
            "get": {
                "summary": "The players (hls.mjs, dash.mjs) from the npm packages set-up installed",
                "parameters": [{"name": "name", **path_param}],
                "responses": {"200": {"description": "JavaScript"}, "404": error},
            }
        },
        "/static/{path}": {
            "get": {
                "summary": "The web app's modules and style",
                "parameters": [{"name": "path", **path_param}],
                "responses": {"200": {"description": "A file"}, "404": error},
            }
        },
    }
