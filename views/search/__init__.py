"""The search view: videos found by words, typos and all, filtered, faceted, ranked with popularity.

- ``model``          the contract: documents, queries, pages, suggestions, the ``SearchStore`` protocol
- ``text``           pure text logic both stores share: folding, words, the typo rule, the blend
- ``sqlite``         the embedded store (SQLite FTS5 and a spelling table)
- ``elasticsearch``  the distributed store (an alias over one index, rebuilt beside it)

It may import ``schemas``, ``topics`` and ``views`` only; the stream agent that
feeds it and the HTTP routes that read it live in their own rooms. The
package re-exports the contract; the stores are imported from their modules
(or opened by URL with ``views.stores.open_search_store``), so that code
needing only the contract does not load the Elasticsearch client.
"""

from views.search.model import (
    MAX_PAGE_SIZE,
    MAX_SUGGESTIONS,
    DurationBucket,
    Facets,
    SearchDocument,
    SearchHit,
    SearchPage,
    SearchQuery,
    SearchRebuild,
    SearchSort,
    SearchStore,
    Suggestion,
    duration_bucket,
)

__all__ = [
    "MAX_PAGE_SIZE",
    "MAX_SUGGESTIONS",
    "DurationBucket",
    "Facets",
    "SearchDocument",
    "SearchHit",
    "SearchPage",
    "SearchQuery",
    "SearchRebuild",
    "SearchSort",
    "SearchStore",
    "Suggestion",
    "duration_bucket",
]
