"""Recommendations core: interaction weights, the ALS model and its artifact, offline evaluation (pure).

``interactions`` turns watch facts into weights and a user-by-item matrix,
``model`` fits implicit's ALS and serves from plain numpy factors (fold-in of a
viewer's latest watches, similar items, a checksummed artifact), ``evaluate``
compares it offline with simple baselines. No Kafka and no HTTP here: the
worker and the routes that use this live elsewhere.

May import: schemas, topics, views, the playback fold of ``stream_apps``
(so watch time means what the analytics say), numpy, scipy, implicit, threadpoolctl.
"""
