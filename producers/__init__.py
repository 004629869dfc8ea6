"""The write side: services that turn outside input into events on the log.

``uploads/`` (pre-signed multipart uploads, probing, ``upload-complete``) and
``collector/`` (players' playback events), plus ``json_publisher`` for events
written by hand. May import ``schemas``, ``topics``, ``blobs``, ``transcoder``
(the probe); never ``stream_apps`` or anything above.
"""
