"""The upload commands: ``upload`` a file, run the ``upload-service``, ``uploads-clean``, ``upload-token``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from deploy.blob_store import blob_store_for
from deploy.cli.parsing import Subparsers
from deploy.settings import Settings

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    upload = sub.add_parser("upload", help="upload a video file in parallel parts (resumes if interrupted)")
    upload.add_argument("file", metavar="FILE", type=Path)
    upload.add_argument("--title", required=True)
    upload.add_argument("--description", default="")
    upload.add_argument("--tags", default="", help="comma-separated")
    upload.add_argument(
        "--visibility",
        choices=("public", "unlisted", "private"),
        default="public",
        help="unlisted: only by its link; private: only you (default public)",
    )
    upload.add_argument("--parallel", type=int, default=4, help="parts in flight at once")
    upload.set_defaults(handler=_upload)

    service = sub.add_parser("upload-service", help="run the upload service (pre-signed multipart uploads)")
    service.set_defaults(handler=_upload_service)

    clean = sub.add_parser(
        "uploads-clean", help="abort multipart uploads abandoned for a while (and drop their metadata)"
    )
    clean.add_argument("--older-than-hours", type=float, default=24.0)
    clean.set_defaults(handler=_uploads_clean)

    utoken = sub.add_parser("upload-token", help="issue an uploader token (embedded setup, HS256)")
    utoken.add_argument("uploader", metavar="UPLOADER")
    utoken.set_defaults(handler=_upload_token)


def _uploader_auth(settings: Settings) -> Any:
    from deploy.secrets import local_secret
    from producers.uploads.auth import UploaderAuth

    if settings.upload_jwt_public_key:
        return UploaderAuth(rs256_public_key=settings.upload_jwt_public_key)
    return UploaderAuth(
        hs256_secret=local_secret(settings.home, "upload-jwt", configured=settings.upload_jwt_secret)
    )


def _upload(args: argparse.Namespace, settings: Settings) -> int:
    import getpass
    import os

    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from producers.uploads.client import UploadError, upload_file

    token = os.environ.get("TUBESTREAM_UPLOAD_TOKEN") or _uploader_auth(settings).issue(getpass.getuser())
    with Progress(BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task("upload", total=args.file.stat().st_size)
        try:
            outcome = asyncio.run(
                upload_file(
                    args.file,
                    service_url=settings.upload_service_url,
                    token=token,
                    title=args.title,
                    description=args.description,
                    tags=[t.strip() for t in args.tags.split(",") if t.strip()],
                    visibility=args.visibility,
                    state_dir=settings.home / "uploads",
                    concurrency=args.parallel,
                    on_progress=lambda done, total: bar.update(task, completed=done),
                    on_notice=lambda text: bar.console.print(f"note: {text}", markup=False),
                )
            )
        except UploadError as exc:
            raise ValueError(str(exc)) from exc
    if outcome.resumed:
        print("resumed an interrupted upload", file=sys.stderr)
    print(outcome.video_id)
    return 0


def _upload_service(args: argparse.Namespace, settings: Settings) -> int:
    from deploy.secrets import local_secret
    from deploy.serving import http_edge
    from producers.uploads.server import run
    from producers.uploads.tickets import TicketSigner

    edge = http_edge(settings)
    run(
        kafka=settings.kafka,
        blobs=blob_store_for(settings),
        auth=_uploader_auth(settings),
        tickets=TicketSigner(local_secret(settings.home, "upload-tickets")),
        host=settings.api_host,
        port=settings.upload_port,
        max_bytes=settings.upload_max_bytes,
        ssl_context=edge.ssl_context,
        access_log_class=edge.access_log_class,
        cors_origins=settings.cors_origins,
    )
    return 0


def _uploads_clean(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime, timedelta

    from producers.uploads.tickets import metadata_key, video_id_of

    blobs = blob_store_for(settings)
    cutoff = datetime.now(UTC) - timedelta(hours=args.older_than_hours)
    abandoned = blobs.open_uploads(started_before=cutoff)
    for key, upload_id in abandoned:
        blobs.abort_multipart(key, upload_id)
        video_id = video_id_of(key)
        if video_id is not None:
            blobs.delete(metadata_key(video_id))
    print(f"aborted {len(abandoned)} upload(s) started before {cutoff.isoformat(timespec='seconds')}")
    return 0


def _upload_token(args: argparse.Namespace, settings: Settings) -> int:
    print(_uploader_auth(settings).issue(args.uploader))
    return 0
