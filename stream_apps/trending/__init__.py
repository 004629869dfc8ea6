"""Trending: decayed unique-view scores (``score``) and the stored top-N boards (``board``).

Reads the playback view's minute rows; may import ``stream_apps.playback``.
"""
