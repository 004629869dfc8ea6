"""The HTTP services' edge: HTTPS from the settings, and logs that hold no secret and no client address.

The query API, the collector and the upload service are handed an
``ssl.SSLContext`` (or None) and an access logger class by their commands.
An access line says what was asked and how it went (method, path, status,
size, duration) and who asked only as a keyed pseudonym: the collector's
WebSocket carries the player token in ``?token=``, pre-signed part and object
URLs carry signatures valid for hours, an upload's path carries its ticket (a
JWT naming the uploader), and a client's IP is personal data. Every other
log line of those processes passes through the same ``redact``, so an error
quoting a URL or a header cannot print what the access line leaves out.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from deploy.secrets import local_secret
from deploy.settings import Settings
from producers.collector.pseudonyms import Pseudonymizer

__all__ = [
    "REDACTED",
    "HttpEdge",
    "access_logger",
    "http_edge",
    "log_privately",
    "redact",
    "server_ssl_context",
]

REDACTED = "<redacted>"
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"

# query parameters whose value is a credential: tokens, signatures of pre-signed URLs (ours, S3's, GCS's)
_SECRET_NAMES = (
    r"(?:[\w.-]*token|[\w.-]*signature|sig|x-amz-[\w-]+|x-goog-[\w-]+|[\w.-]*credential"
    r"|[\w.-]*password|[\w.-]*secret|[\w.-]*api_?key)"
)
_SECRET_NAME = re.compile(_SECRET_NAMES, re.IGNORECASE)
# a value is one character at least: "token=<redacted>" is left alone when a line is redacted twice
_SECRET_PARAM = re.compile(rf"(?<![\w.-])({_SECRET_NAMES}=)[^&\s\"'#<>]+", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*")  # a JWT's header is base64 of '{"...'
_BEARER = re.compile(r"(?i)\b(bearer\s+)[\w.~+/=-]+")
# a signed media URL carries its signature in the path (/media/s/{expires}/{signature}/videos/...)
_SIGNED_MEDIA = re.compile(r"(/media/s/\d+/)[^/\s\"'?#]+")
# A word every match of the three above contains, in lower case (``eyj``: a JWT's ``eyJ``). Checked
# on ASCII text only: under IGNORECASE a pattern's ``s`` or ``k`` also matches the long s (U+017F)
# or the Kelvin sign, which ``lower()`` keeps as they are.
_MAY_HOLD_SECRET = re.compile(
    r"token|sig|x-amz-|x-goog-|credential|password|secret|api_?key|bearer|eyj|/media/s/"
)


@dataclass(frozen=True, kw_only=True)
class HttpEdge:
    ssl_context: ssl.SSLContext | None  # None: plain HTTP
    access_log_class: type[AbstractAccessLogger]


def http_edge(settings: Settings) -> HttpEdge:
    """What a service command hands its server; sets up the process's redacted logging first."""
    log_privately()
    key = local_secret(settings.home, "pseudonym", configured=settings.pseudonym_key).encode()
    context = None
    if settings.tls_cert_file is not None and settings.tls_key_file is not None:
        context = server_ssl_context(settings.tls_cert_file, settings.tls_key_file)
    return HttpEdge(ssl_context=context, access_log_class=access_logger(key))


def redact(text: str) -> str:
    """``text`` without credentials: secret query values, JWTs, bearer tokens and signed media paths'
    signatures replaced by ``REDACTED``."""
    if text.isascii() and not _MAY_HOLD_SECRET.search(text.lower()):
        return text  # the common line: the patterns below cost the API a tenth of each read
    text = _SECRET_PARAM.sub(rf"\g<1>{REDACTED}", text)
    text = _BEARER.sub(rf"\g<1>{REDACTED}", text)
    text = _SIGNED_MEDIA.sub(rf"\g<1>{REDACTED}", text)
    return _JWT.sub(REDACTED, text)


def server_ssl_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """Python's defaults for a server (TLS 1.2 at least, its cipher list) with this certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def access_logger(pseudonym_key: bytes) -> type[AbstractAccessLogger]:
    """An access logger naming clients by a pseudonym of their address under a key derived from this one.

    Derived, so a log line's pseudonym cannot be matched with the ``client_ip`` of
    playback events without the key; stable, so one client's requests can be followed.
    """
    pseudonyms = Pseudonymizer(hmac.new(pseudonym_key, b"access-log", hashlib.sha256).digest())

    @functools.lru_cache(maxsize=4096)  # a client sends many requests: one HMAC for them all
    def client_of(address: str) -> str:
        return pseudonyms.ip(address)[:12]

    class PrivateAccessLogger(AbstractAccessLogger):
        def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
            client = client_of(request.remote) if request.remote else "-"
            self.logger.info(
                "%s %s %s %sB %.1fms client=%s",
                request.method,
                _path_and_query(request),
                response.status,
                response.body_length,
                time * 1000,
                client,
            )

    return PrivateAccessLogger


def _path_and_query(request: BaseRequest) -> str:
    """The path as the router read it, and the query decoded (a percent-encoded name is still a name).

    Decoded text may hold a line break or a terminal escape: they are shown escaped, so a
    request cannot write a line of its own into the log.
    """
    query = "&".join(
        f"{name}={REDACTED if _SECRET_NAME.fullmatch(name) else value}"
        for name, value in request.query.items()
    )
    shown = redact(f"{request.path}?{query}" if query else request.path)
    return _CONTROL.sub(lambda c: f"\\x{ord(c.group()):02x}", shown)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))  # the message, its arguments and any traceback


def log_privately(level: int = logging.INFO) -> None:
    """Log to stderr as the services always have, every line through ``redact``."""
    handler = _StderrHandler()
    handler.setFormatter(_RedactingFormatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Whatever ``sys.stderr`` is when a record is written, not when the handler was made: a command
    run in-process (by a test) may have been handed a stream that is closed by the next record."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass
