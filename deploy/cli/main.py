"""``tubestream``'s entry point: build the parser from the command groups, run one, translate errors.

Every room's errors derive from one base per room; they, and the standard
errors a bad argument raises (``ValueError``, ``KeyError``, ``OSError``), end
as one line on stderr and exit code 2, never a traceback. Anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from blobs.errors import BlobError
from deploy.cli import analytics, collector, estimate, log, recs, search, servers, transcode, uploads, views
from deploy.cli.parsing import Handler
from deploy.errors import DeployError
from deploy.settings import Settings
from producers.errors import ProducerError
from schemas.errors import SchemaError
from stream_apps.errors import StreamAppError
from topics.errors import LogError
from transcoder.errors import TranscoderError
from views.errors import ViewStoreError

__all__ = ["ROOM_ERRORS", "USER_ERRORS", "main"]

# One base per room, lowest floor first.
ROOM_ERRORS: tuple[type[Exception], ...] = (
    SchemaError,
    LogError,
    BlobError,
    ViewStoreError,
    TranscoderError,
    ProducerError,
    StreamAppError,
    DeployError,
)
# ...and what a bad argument raises from the standard library (a missing file, a malformed time).
USER_ERRORS: tuple[type[Exception], ...] = (*ROOM_ERRORS, ValueError, KeyError, OSError)
USAGE_ERROR = 2  # argparse's own code for a command it cannot use


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return USAGE_ERROR
    try:
        settings = Settings.from_env()
        return handler(args, settings)
    except USER_ERRORS as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        first_line = str(message).strip().splitlines()[0] if str(message).strip() else type(exc).__name__
        print(f"tubestream: error: {first_line}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130


class _Parser(argparse.ArgumentParser):
    """argparse's usage errors in one line too (its subparsers are made of this class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tubestream",
        description="Event-streaming video platform on Kafka. Settings come from TUBESTREAM_* and "
        "KAFKA_BOOTSTRAP (see the README).",
    )
    sub = parser.add_subparsers(metavar="COMMAND")
    for group in (servers, log, views, search, analytics, recs, transcode, uploads, collector, estimate):
        group.register(sub)
    return parser
