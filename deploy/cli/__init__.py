"""The ``tubestream`` command line: one module per command group around a small ``main``.

``servers`` (up, kafka, minio), ``log`` (topics, publish, tail), ``views``
(worker, api, catalog), ``analytics``, ``transcode``, ``uploads``,
``collector``. Each group registers its subcommands and handlers; the
handlers build nothing but what their command needs, importing it lazily so
that ``tubestream --help`` stays fast.
"""

from deploy.cli.main import main

__all__ = ["main"]
