"""The search view: one document per video from the catalog's events and playback popularity.

``known_items`` (pure: known-item queries from a catalog and their MRR and
recall@10). May import ``schemas``, ``topics``, ``views`` and the other view
builders' pure parts.
"""
