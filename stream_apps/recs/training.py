"""Training from the interactions view: rows → weights → ``fit_als`` → an artifact and its event (pure).

The caller does the I/O (scan the store, put the artifact in the blob store,
publish the event): see ``tubestream recs train``. A version is the training
time to the microsecond, then the artifact's digest, so versions sort by
time and a reader can tell the newest by comparing strings.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.recs_model_ready import RecsModelReady
from stream_apps.recs.interactions import build_matrix
from stream_apps.recs.model import AlsParams, RecsModel, fit_als
from stream_apps.recs.serving import training_rows
from views.recs import InteractionRow

__all__ = ["MODELS_PREFIX", "MODEL_NAME", "TrainedModel", "model_key", "train_model"]

MODEL_NAME = "als"  # the key of recs-model-ready: one model so far
MODELS_PREFIX = "recs/models/"


@dataclass(frozen=True, kw_only=True, eq=False)
class TrainedModel:
    model: RecsModel
    artifact: bytes
    event: RecsModelReady  # what to publish once the artifact is stored


def model_key(version: str) -> str:
    return f"{MODELS_PREFIX}{version}.bin"


def train_model(
    rows: Iterable[InteractionRow],
    *,
    offsets: Mapping[int, int],
    params: AlsParams | None = None,
    now: datetime | None = None,
) -> TrainedModel:
    """Fit on every row; ``InvalidInteractionError`` when no pair has a positive weight yet."""
    now = now or datetime.now(UTC)
    triples = training_rows(rows)
    matrix = build_matrix(triples)
    model = fit_als(
        matrix,
        params,
        offsets={f"playback-event/{p}": o for p, o in sorted(offsets.items())},
        trained_at=now,
    )
    model = model.with_metrics(
        {
            "users": float(len(model.user_ids)),
            "items": float(len(model.item_ids)),
            "interactions": float(matrix.csr.nnz),
            "fit_s": model.metadata.fit_s,
        }
    )
    artifact = model.to_bytes()
    digest = hashlib.sha256(artifact).hexdigest()
    version = f"{now.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{digest[:12]}"
    event = RecsModelReady(
        event_id=str(uuid.uuid4()),
        occurred_at=now,
        model=MODEL_NAME,
        version=version,
        blob_key=model_key(version),
        sha256=digest,
        users=len(model.user_ids),
        items=len(model.item_ids),
        interactions=int(matrix.csr.nnz),
        params=tuple((name, json.dumps(value)) for name, value in sorted(model.params.to_dict().items())),
        metrics=tuple(sorted(model.metadata.metrics.items())),
    )
    return TrainedModel(model=model, artifact=artifact, event=event)
