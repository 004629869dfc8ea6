"""The contracts: one Avro schema per event and version, typed records, and the codecs.

Imports nothing of tubestream: every other room builds on it.
"""
