"""Transcode planning: ``upload-complete`` in, ``transcode-requested`` out.

``plan`` (pure: the job for a probed upload, from ``transcoder.ladder``) and
``agent`` (the Faust agent).
"""
