"""The query API: the read side's HTTP face over the views (catalog, stats, trending, media) and its page.

May import every room below it (views, blobs, the pure row logic of
``stream_apps``); nothing imports it but ``deploy``.
"""
