"""The view stores: what each materialized view holds, behind a small interface per view.

Embedded (SQLite) adapters today; the distributed ones implement the same
contracts. Stores know rows, not events: they import nothing of tubestream, so
the view builders below ``query_api`` can write them and the API can read them.
"""
