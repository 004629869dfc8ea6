"""Playback analytics: exact per-video, per-minute aggregates from ``playback-event``.

Pure: ``facts`` (decoded events), ``time``, ``sessions`` (a session's fold),
``aggregates`` (minute buckets), ``rows`` and ``rollup`` (view rows and ranges),
``view``. I/O: ``worker`` (the consumer), ``batch`` (recompute and compare),
``archive`` (hourly Avro files).
"""
