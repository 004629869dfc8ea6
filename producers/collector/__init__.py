"""The playback collector: players' events in over HTTP or a WebSocket, ``playback-event`` out.

``app`` (routes and back-pressure), ``intake`` (validation into wire records),
``tokens`` (player tokens), ``pseudonyms`` (keyed pseudonyms for viewers and
IPs), ``server`` (process).
"""
