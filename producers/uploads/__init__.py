"""The upload service and its client: pre-signed multipart uploads straight to storage, then a probe.

``app`` (HTTP routes), ``server`` (process), ``tickets`` (signed part URLs of
the local store), ``auth`` (uploader tokens), ``client`` (``tubestream upload``).
"""
