"""Running tubestream: settings from the environment, the local servers, the supervisor, the CLI.

The top floor: it may import every room, and nothing imports it.
"""
