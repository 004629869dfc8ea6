"""The HTTP services behind TLS, and their logs: no token, signature or client address in any line.

The query API, the collector and the upload service run as ``tubestream``
subprocesses with a certificate made here; clients verify it (and only it).
One short flow (an upload of a generated clip, playback over HTTP and a
WebSocket with ``?token=``, API reads) leaves its logs, which are then searched.
"""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from deploy.serving import REDACTED, redact
from topics.config import KafkaConfig

from certs import ServerCertificate, self_signed_certificate
from harness import REPO, Platform, free_port, wait_for

pytestmark = pytest.mark.kafka

SERVICES = {"api": "api", "collector": "collector", "uploads": "upload-service"}


@dataclass
class TlsServices:
    platform: Platform
    certificate: ServerCertificate
    trust: ssl.SSLContext  # trusts the services' certificate, nothing else

    def url(self, service: str) -> str:
        port = {
            "api": self.platform.api_port,
            "collector": self.platform.collector_port,
            "uploads": self.platform.upload_port,
        }[service]
        return f"https://127.0.0.1:{port}"

    def logs(self) -> dict[str, str]:
        return {name: p.log.read_text(errors="replace") for name, p in self.platform.processes.items()}


@pytest.fixture(scope="module")
def services(kafka: KafkaConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServices]:
    home = tmp_path_factory.mktemp("tls-services")
    certificate = self_signed_certificate(home / "tls")
    platform = Platform(
        kafka=kafka,
        home=home,
        catalog_url=f"sqlite:///{home / 'catalog.db'}",
        api_port=free_port(),
        extra_env={
            "TUBESTREAM_TLS_CERT_FILE": str(certificate.cert_file),
            "TUBESTREAM_TLS_KEY_FILE": str(certificate.key_file),
        },
    )
    running = TlsServices(platform, certificate, ssl.create_default_context(cafile=certificate.cert_file))
    for name, command in SERVICES.items():
        platform.start(name, command)
    try:
        for name in SERVICES:
            health = f"{running.url(name)}/healthz"
            platform.wait_for(partial(_healthy, running, health), what=f"{name} over HTTPS")
        yield running
    finally:
        platform.stop()


def _healthy(services: TlsServices, url: str) -> bool:
    return _get(services, url)[0] == 200


def _get(services: TlsServices, url: str, *, token: str | None = None) -> tuple[int, Any]:
    return _call(services, "GET", url, token=token)


def _call(
    services: TlsServices, method: str, url: str, *, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10, context=services.trust) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        exc.close()
        return exc.code, json.loads(payload or b"null")


# -- HTTPS -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_answers_https_verified_against_its_certificate(
    services: TlsServices, service: str
) -> None:
    status, body = _get(services, f"{services.url(service)}/healthz")
    assert status == 200, body


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_plain_http_and_an_untrusted_certificate_are_refused(services: TlsServices, service: str) -> None:
    plain = services.url(service).replace("https://", "http://")
    with pytest.raises((OSError, urllib.error.URLError)):  # the server ends a handshake that is no TLS
        urllib.request.urlopen(f"{plain}/healthz", timeout=10).close()
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(  # the system's CAs only: our self-signed certificate is not among them
            f"{services.url(service)}/healthz", timeout=10, context=ssl.create_default_context()
        ).close()


def test_the_services_print_and_hand_out_https_urls(services: TlsServices) -> None:
    logs = services.logs()
    assert f"query API on {services.url('api')}/" in logs["api"]
    assert f"playback collector on {services.url('collector')}/v1/playback/events" in logs["collector"]
    assert f"upload service on {services.url('uploads')}/v1/uploads" in logs["uploads"]

    token = services.platform.run("upload-token", "uploader-urls").strip()
    body = {"size_bytes": 1000, "content_type": "video/mp4", "title": "urls"}
    status, created = _call(services, "POST", f"{services.url('uploads')}/v1/uploads", body=body, token=token)

    assert status == 201, created
    assert created["parts"][0]["url"].startswith(f"{services.url('uploads')}/v1/blobs/parts?")


# -- logs ------------------------------------------------------------------------------------------


def test_redact_removes_tokens_signatures_and_bearer_credentials() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ2aWV3ZXItMSJ9.c2lnbmF0dXJl"
    cases = {
        f"GET /v1/playback/ws?token={jwt}": f"GET /v1/playback/ws?token={REDACTED}",
        "/v1/blobs/parts?expires=9&key=uploads/v/source&part=1&signature=ab12&upload_id=f0": (
            f"/v1/blobs/parts?expires=9&key=uploads/v/source&part=1&signature={REDACTED}&upload_id=f0"
        ),
        "https://s3/b/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=dead": (
            f"https://s3/b/k?X-Amz-Credential={REDACTED}&X-Amz-Signature={REDACTED}"
        ),
        f"POST /v1/uploads/{jwt}/complete": f"POST /v1/uploads/{REDACTED}/complete",
        "Authorization: Bearer abc.def": f"Authorization: Bearer {REDACTED}",
        "GET /v1/videos?limit=5&cursor=abc": "GET /v1/videos?limit=5&cursor=abc",
        "GET /media/s/1800021600/Zm9vYmFy-_x/videos/v1/j1/master.m3u8 200": (
            f"GET /media/s/1800021600/{REDACTED}/videos/v1/j1/master.m3u8 200"
        ),
        "GET /media/videos/v1/j1/master.m3u8": "GET /media/videos/v1/j1/master.m3u8",
    }
    for text, expected in cases.items():
        assert redact(text) == expected


def test_redact_skips_only_lines_that_cannot_hold_a_secret() -> None:
    """The quick check before the patterns must never let a secret through: look-alike letters
    (the long s, the Kelvin sign) match the patterns' s and k, and mixed case matches too."""
    untouched = [
        "INFO aiohttp.access: GET /v1/videos/bench-000001 200 1412B 0.3ms client=0a1b2c3d4e5f",
        "GET /v1/videos?limit=20&cursor=MjAyNi0xMS0wMVQwMDowMDowMC4wMDAwMDArMDA6MDB8YmVuY2g",
        "GET /v1/search?q=caf\u00e9 cr\u00e8me",
    ]
    for text in untouched:
        assert redact(text) == text
    secrets = {
        "GET /x?\u017fecret=abc": f"GET /x?\u017fecret={REDACTED}",
        "GET /x?api_\u212aey=abc": f"GET /x?api_\u212aey={REDACTED}",
        "GET /x?caf\u00e9=1&Access_Token=abc": f"GET /x?caf\u00e9=1&Access_Token={REDACTED}",
        "GET /x?APIKEY=1": f"GET /x?APIKEY={REDACTED}",
        "Authorization: BEARER x.y": f"Authorization: BEARER {REDACTED}",
        "X-Goog-Signature=ab": f"X-Goog-Signature={REDACTED}",
    }
    for text, expected in secrets.items():
        assert redact(text) == expected


async def test_a_full_flow_leaves_no_token_signature_or_client_address_in_the_logs(
    services: TlsServices, tmp_path: Path
) -> None:
    platform = services.platform
    viewer = f"viewer-{uuid.uuid4()}"
    uploader = f"uploader-{uuid.uuid4().hex[:8]}"
    player_token = platform.run("player-token", viewer).strip()
    upload_token = platform.run("upload-token", uploader).strip()

    video_id = _upload(services, _clip(tmp_path / "clip.mp4"), upload_token)

    collector = f"{services.url('collector')}/v1/playback/events"
    for kind in ("start", "heartbeat"):
        status, answer = _call(services, "POST", collector, body=[_event(video_id, kind)], token=player_token)
        assert status == 202, answer
    assert _call(services, "POST", collector, body=[_event(video_id, "end")], token="eyJ.bad.token")[0] == 401
    ws_url = f"{services.url('collector').replace('https', 'wss')}/v1/playback/ws?token={player_token}"
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, ssl=services.trust) as ws:
        await ws.send_str(json.dumps([_event(video_id, "pause")]))
        assert await ws.receive_json(timeout=10) == {"accepted": 1}
    assert _get(services, f"{services.url('api')}/v1/videos?limit=5")[0] == 200
    assert _get(services, f"{services.url('api')}/v1/videos/{video_id}?token={player_token}")[0] in (200, 404)

    # a line is written once its answer is sent: wait for each service's last one
    last_lines = {
        "collector": f"GET /v1/playback/ws?token={REDACTED} 101 ",  # when the WebSocket closes
        "uploads": f"POST /v1/uploads/{REDACTED}/complete 200 ",
        "api": f"GET /v1/videos/{video_id}?token={REDACTED} ",
    }
    wait_for(
        lambda: all(line in services.logs()[name] for name, line in last_lines.items()),
        what=f"the last access lines: {last_lines}",
    )
    logs = services.logs()
    everything = "\n".join(logs.values())
    for secret in (player_token, upload_token, viewer, uploader):
        assert secret not in everything
    assert "eyJ" not in everything  # no JWT at all: player or uploader tokens, upload tickets
    assert not re.search(rf"(?i)(signature|x-amz-[a-z-]+)=(?!{re.escape(REDACTED)})", everything)
    access = [line for line in everything.splitlines() if "aiohttp.access" in line]
    assert access and not [line for line in access if "127.0.0.1" in line]
    assert all(re.search(r" client=[0-9a-f]{12}$", line) for line in access), access
    # nor in any other line logged (the startup lines name the listen address, librdkafka's the broker's)
    logged = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) ")
    assert not [line for line in everything.splitlines() if logged.match(line) and "127.0.0.1" in line]
    # and the lines still say what happened
    assert re.search(rf"PUT /v1/blobs/parts\?.*signature={re.escape(REDACTED)}.* 200 ", logs["uploads"])


def test_a_request_cannot_write_a_line_of_its_own_or_hide_a_token_by_encoding_it(
    services: TlsServices,
) -> None:
    api = services.url("api")
    assert _get(services, f"{api}/v1/videos?limit=1&note=%0AINFO%20aiohttp.access:%20forged")[0] == 200
    assert _get(services, f"{api}/v1/videos?limit=2&%74oken=hidden-credential")[0] == 200

    def logged() -> str | None:
        log = services.logs()["api"]
        return log if "limit=2" in log else None

    log = wait_for(logged, what="the access lines")
    assert not [line for line in log.splitlines() if line.startswith("INFO aiohttp.access: forged")]
    assert "note=\\x0aINFO aiohttp.access: forged" in log
    assert "hidden-credential" not in log and f"token={REDACTED}" in log


def _clip(path: Path) -> Path:
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10:duration=1",
            "-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def _upload(services: TlsServices, clip: Path, token: str) -> str:
    """``tubestream upload`` as a user runs it, trusting the services' certificate."""
    env = {
        **services.platform.env(),
        "TUBESTREAM_UPLOAD_TOKEN": token,
        "SSL_CERT_FILE": str(services.certificate.cert_file),  # what OpenSSL (and so aiohttp) trusts
    }
    result = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "upload", str(clip), "--title", "TLS clip"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def _event(video_id: str, kind: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "session_id": "s-tls",
        "video_id": video_id,
        "kind": kind,
        "position_ms": 0,
        "occurred_at": int(time.time() * 1000),
    }
