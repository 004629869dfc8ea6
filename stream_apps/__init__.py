"""The view builders: stream processors that fold topics into the materialized views.

One room per view: ``catalog/``, ``playback/`` (analytics), ``trending/``,
``transcode_planning/``; ``app`` and ``worker`` build and run the Faust worker.
May import ``schemas``, ``topics``, ``blobs``, ``views`` and ``transcoder``
(ladder planning); never ``producers`` or anything above.
"""
