"""The web app's routes: the shell on every page path, static files, the config, and the sign-in."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from producers.collector.pseudonyms import Pseudonymizer
from producers.collector.tokens import PlayerTokens
from producers.uploads.auth import UploaderAuth
from query_api.app import create_app
from query_api.site import WEB_ROOT, SignIn, WebSettings
from views.catalog import CatalogStore
from views.stores import open_catalog_store

Client = TestClient[Any, Any]
PLAYER_SECRET = secrets.token_urlsafe(40)
UPLOAD_SECRET = secrets.token_urlsafe(40)
PSEUDONYM_KEY = secrets.token_bytes(32)


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[CatalogStore]:
    store = open_catalog_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    yield store
    await store.close()


def _embedded() -> WebSettings:
    return WebSettings(
        collector_url="http://127.0.0.1:8081",
        upload_url="http://127.0.0.1:8082",
        sign_in=SignIn(
            player_tokens=PlayerTokens(PLAYER_SECRET),
            uploader_auth=UploaderAuth(hs256_secret=UPLOAD_SECRET),
            pseudonyms=Pseudonymizer(PSEUDONYM_KEY),
        ),
        connect_origins=("http://127.0.0.1:8081", "http://127.0.0.1:8082"),
    )


async def _client(catalog: CatalogStore, web: WebSettings | None) -> Client:
    return TestClient(TestServer(create_app(catalog=catalog, web_settings=web)))


async def test_every_page_path_is_the_shell_and_may_call_only_the_services_it_is_told(
    catalog: CatalogStore,
) -> None:
    async with await _client(catalog, _embedded()) as client:
        home = await (await client.get("/")).text()
        for path in ("/watch/vid-1", "/upload", "/search?q=cats"):
            page = await client.get(path)
            assert page.status == 200 and await page.text() == home
            csp = page.headers["Content-Security-Policy"]
            assert "connect-src 'self' http://127.0.0.1:8081 http://127.0.0.1:8082" in csp
            assert "worker-src 'self' blob:" in csp


async def test_the_modules_are_served_with_their_types_and_nothing_outside_them(
    catalog: CatalogStore,
) -> None:
    async with await _client(catalog, None) as client:
        app = await client.get("/static/app.js")
        assert app.status == 200 and app.content_type == "text/javascript"
        assert "import" in await app.text()
        sdk = await client.get("/static/sdk/player-analytics.js")
        assert sdk.status == 200 and "export class PlayerAnalytics" in await sdk.text()
        css = await client.get("/static/app.css")
        assert css.status == 200 and css.content_type == "text/css"
        for path in (
            "/static/../site.py",
            "/static/%2e%2e/site.py",
            "/static/nope.js",
            "/static/../../setup.cfg",
        ):
            response = await client.get(path)
            assert response.status == 404, path


async def test_the_players_come_from_the_installed_packages_or_a_404_says_to_run_setup(
    catalog: CatalogStore, tmp_path: Path
) -> None:
    installed = (WEB_ROOT / "node_modules" / "hls.js" / "dist" / "hls.min.mjs").is_file()
    async with await _client(catalog, None) as client:
        hls = await client.get("/static/vendor/hls.mjs")
        if installed:  # deploy/setup.sh ran npm ci (the test script always does)
            assert hls.status == 200 and hls.content_type == "text/javascript"
            assert "max-age" in hls.headers["Cache-Control"]
        unknown = await client.get("/static/vendor/jquery.js")
        assert (
            unknown.status == 404 and "known: hls.mjs, dash.mjs" in (await unknown.json())["error"]["message"]
        )
    bare = WebSettings(root=tmp_path)  # a checkout where npm ci never ran
    async with await _client(catalog, bare) as client:
        missing = await client.get("/static/vendor/dash.mjs")
        assert missing.status == 404
        assert "run deploy/setup.sh" in (await missing.json())["error"]["message"]


async def test_sign_in_issues_tokens_the_collector_and_the_upload_service_accept(
    catalog: CatalogStore,
) -> None:
    async with await _client(catalog, _embedded()) as client:
        config = await (await client.get("/web/config.json")).json()
        assert config == {
            "collector_url": "http://127.0.0.1:8081",
            "upload_url": "http://127.0.0.1:8082",
            "sign_in": True,
        }
        named = await (await client.post("/web/sign-in", json={"name": " ada "})).json()
        assert named["viewer"] == "ada" and named["guest"] is False
        assert PlayerTokens(PLAYER_SECRET).verify(named["player_token"]).viewer_id == "ada"
        assert UploaderAuth(hs256_secret=UPLOAD_SECRET).verify(named["upload_token"]) == "ada"
        assert named["pseudonym"] == Pseudonymizer(PSEUDONYM_KEY).user("ada")  # what recommendations key on
        guest = await (await client.post("/web/sign-in")).json()
        assert guest["guest"] is True and guest["upload_token"] is None
        assert PlayerTokens(PLAYER_SECRET).verify(guest["player_token"]).viewer_id == guest["viewer"]
        for body, why in (
            ({"name": 7}, "string"),
            ({"name": "x" * 65}, "1-64"),
            ({"name": "guest-1"}, "guests"),
        ):
            response = await client.post("/web/sign-in", json=body)
            assert response.status == 400 and why in (await response.json())["error"]["message"]
        not_json = await client.post("/web/sign-in", data=b"{", headers={"Content-Type": "application/json"})
        assert not_json.status == 400


async def test_without_the_embedded_secrets_the_sign_in_hands_out_nothing(catalog: CatalogStore) -> None:
    async with await _client(catalog, WebSettings(collector_url="https://c.example")) as client:
        config = await (await client.get("/web/config.json")).json()
        assert config["sign_in"] is False and config["upload_url"] is None
        refused = await client.post("/web/sign-in", json={"name": "ada"})
        assert refused.status == 403
        body = await refused.json()
        assert "identity provider" in body["error"]["message"] and "token" not in body
