"""Blob storage behind one contract (multipart uploads, signed URLs): the local filesystem and S3.

Imports nothing of tubestream; writers and the query API use it.
"""
