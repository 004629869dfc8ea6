"""FFmpeg transcoding: probe, ladder, encoder profiles, one-decode runs, packaging, the Kafka worker.

May import ``schemas``, ``topics`` and ``blobs``.
"""
