"""Recommendations: interaction weights, the ALS model and its artifact, evaluation, the fold, training.

``interactions`` turns watch facts into weights and a user-by-item matrix,
``model`` fits implicit's ALS and serves from plain numpy factors (fold-in of a
viewer's latest watches, similar items, a checksummed artifact), ``evaluate``
compares it offline with simple baselines. ``fold`` (pure) and ``worker`` (its
Kafka consumer) keep the interactions view; ``training`` fits from that view;
``serving`` holds the pure parts the query API uses around the model. Only
``worker`` talks to Kafka; no HTTP here.

May import: schemas, topics, views, the playback fold of ``stream_apps``
(so watch time means what the analytics say), numpy, scipy, implicit, threadpoolctl.
"""
