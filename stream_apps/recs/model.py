"""The ALS model: fit with ``implicit``, keep the factors, score with numpy, save as a checked artifact.

``fit_als`` factorises an ``InteractionMatrix`` with implicit's
AlternatingLeastSquares (on the GPU when implicit was built with CUDA and the
params allow it, else on the CPU) and returns a ``RecsModel``: plain numpy
factors, the id maps, the params and metadata. Serving needs nothing of
implicit: ``RecsModel.recommend`` scores a known user from their factors, or
*folds in* a viewer from their latest interactions by solving ALS's
least-squares step for that one user against the item factors (a 64-by-64
solve, well under a millisecond), which is what lets a fresh watch change the
next recommendations without a retrain.

Confidence follows implicit's convention: an interaction of weight ``w`` has
confidence ``c = alpha * w`` and preference 1, every other item confidence 1
and preference 0. For one user, with ``Y`` the item factors and ``λ`` the
regularization:

    (YᵀY + λI + Σᵢ (cᵢ - 1) yᵢ yᵢᵀ) x = Σᵢ cᵢ yᵢ

Artifact layout (``to_bytes`` / ``from_bytes``), version ``ARTIFACT_VERSION``:

    b"TSRECS\\0\\n" | manifest length (u32 BE) | arrays length (u64 BE) | manifest JSON | .npz | sha256

The trailing sha256 covers everything before it, and the manifest also
carries the sha256 of the ``.npz`` (``arrays_sha256``), so a corrupt, cut or
bit-flipped artifact is refused whole with a ``CorruptArtifactError``.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import struct
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal, NamedTuple, Protocol, cast

import implicit.als
import implicit.gpu
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from stream_apps.recs.errors import (
    CorruptArtifactError,
    InvalidInteractionError,
    UnknownIdError,
    UnsupportedArtifactError,
)
from stream_apps.recs.interactions import InteractionMatrix

__all__ = [
    "ARTIFACT_VERSION",
    "AlsParams",
    "Device",
    "ModelMetadata",
    "RecsModel",
    "Scored",
    "fit_als",
    "top_indices",
    "use_gpu",
]

ARTIFACT_VERSION = 1
_MAGIC = b"TSRECS\0\n"
_HEADER = struct.Struct(">IQ")  # manifest length, arrays length
_DIGEST_BYTES = 32
_ARRAYS = ("user_factors", "item_factors", "item_popularity", "user_ids", "item_ids")

Device = Literal["auto", "cpu", "gpu"]
Floats = npt.NDArray[np.float32]


@dataclass(frozen=True, kw_only=True)
class AlsParams:
    """How to factorise; ``device="auto"`` takes the GPU when implicit has CUDA."""

    factors: int = 64
    regularization: float = 20.0  # chosen on MovieLens 100k (docs/recs.md): 0.05 overfit and lost to item-kNN
    alpha: float = 2.0  # confidence per unit of interaction weight; 40 overfit the same way
    iterations: int = 15
    random_state: int = 0
    device: Device = "auto"
    num_threads: int = 0  # implicit's CPU threads; 0 = every core

    def __post_init__(self) -> None:
        if self.factors < 1 or self.iterations < 1:
            raise ValueError("factors and iterations must be at least 1")
        if not (self.regularization >= 0 and self.alpha > 0 and math.isfinite(self.alpha)):
            raise ValueError("regularization must be >= 0 and alpha a positive number")
        if self.device not in ("auto", "cpu", "gpu"):
            raise ValueError(f"device must be auto, cpu or gpu, not {self.device!r}")
        if self.num_threads < 0:
            raise ValueError("num_threads must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return {
            "factors": self.factors,
            "regularization": self.regularization,
            "alpha": self.alpha,
            "iterations": self.iterations,
            "random_state": self.random_state,
            "device": self.device,
            "num_threads": self.num_threads,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AlsParams:
        return cls(
            factors=int(d["factors"]),
            regularization=float(d["regularization"]),
            alpha=float(d["alpha"]),
            iterations=int(d["iterations"]),
            random_state=int(d["random_state"]),
            device=cast("Device", str(d["device"])),
            num_threads=int(d["num_threads"]),
        )


@dataclass(frozen=True, kw_only=True)
class ModelMetadata:
    """Where a model comes from: when, up to which offsets of which topics, on what, how good."""

    trained_at: datetime
    offsets: Mapping[str, int] = field(default_factory=dict)  # e.g. "playback-event/0" → high-water offset
    metrics: Mapping[str, float] = field(default_factory=dict)
    device: str = "cpu"  # where it was fitted
    fit_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "trained_at": self.trained_at.isoformat(),
            "offsets": dict(self.offsets),
            "metrics": dict(self.metrics),
            "device": self.device,
            "fit_s": self.fit_s,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelMetadata:
        return cls(
            trained_at=datetime.fromisoformat(str(d["trained_at"])),
            offsets={str(k): int(v) for k, v in dict(d["offsets"]).items()},
            metrics={str(k): float(v) for k, v in dict(d["metrics"]).items()},
            device=str(d["device"]),
            fit_s=float(d["fit_s"]),
        )


class Scored(NamedTuple):
    item_id: str
    score: float


@dataclass(frozen=True, kw_only=True, eq=False)
class RecsModel:
    """Factors and id maps of a fitted model; row ``u`` of ``user_factors`` is ``user_ids[u]``."""

    user_ids: tuple[str, ...]
    item_ids: tuple[str, ...]
    user_factors: Floats  # one row per user
    item_factors: Floats  # one row per item
    item_popularity: Floats  # summed interaction weight per item: the answer for a viewer with no history
    params: AlsParams
    metadata: ModelMetadata

    def __post_init__(self) -> None:
        users, items, factors = len(self.user_ids), len(self.item_ids), self.params.factors
        if self.user_factors.shape != (users, factors) or self.item_factors.shape != (items, factors):
            raise ValueError(
                f"factors are {self.user_factors.shape} and {self.item_factors.shape}, "
                f"ids and params say ({users}, {factors}) and ({items}, {factors})"
            )
        if self.item_popularity.shape != (items,):
            raise ValueError(f"item_popularity is {self.item_popularity.shape}, not ({items},)")

    @cached_property
    def user_index(self) -> dict[str, int]:
        return {user: index for index, user in enumerate(self.user_ids)}

    @cached_property
    def item_index(self) -> dict[str, int]:
        return {item: index for index, item in enumerate(self.item_ids)}

    @cached_property
    def _gram(self) -> npt.NDArray[np.float64]:
        """YᵀY + λI, the part of every fold-in's system that does not depend on the viewer."""
        y = self.item_factors.astype(np.float64)
        return y.T @ y + self.params.regularization * np.eye(self.params.factors)

    @cached_property
    def _unit_item_factors(self) -> Floats:
        norms = np.linalg.norm(self.item_factors, axis=1, keepdims=True)
        return cast("Floats", self.item_factors / np.maximum(norms, 1e-10))

    def with_metrics(self, metrics: Mapping[str, float]) -> RecsModel:
        """The same model with ``metrics`` added to its metadata (say, an offline evaluation's)."""
        merged = {**self.metadata.metrics, **metrics}
        return replace(self, metadata=replace(self.metadata, metrics=merged))

    def fold_in(self, history: Mapping[str, float]) -> npt.NDArray[np.float64]:
        """A viewer's factors from their interactions (item → weight), by ALS's least-squares step.

        Items the model does not know are left out (they have no factors); with none
        left the viewer is the zero vector.
        """
        for item, weight in history.items():
            if not math.isfinite(weight) or weight < 0:
                raise InvalidInteractionError(f"weight of {item!r} is {weight!r}: not a finite value >= 0")
        index = self.item_index
        known = [(index[item], weight) for item, weight in history.items() if weight > 0 and item in index]
        if not known:
            return np.zeros(self.params.factors)
        rows = np.fromiter((index for index, _ in known), dtype=np.intp, count=len(known))
        confidence = self.params.alpha * np.fromiter(
            (w for _, w in known), dtype=np.float64, count=len(known)
        )
        y = self.item_factors[rows].astype(np.float64)
        a = self._gram + (y.T * (confidence - 1.0)) @ y
        b = confidence @ y
        return cast("npt.NDArray[np.float64]", np.linalg.solve(a, b))

    def recommend(
        self,
        *,
        user: int | str | None = None,
        history: Mapping[str, float] | None = None,
        n: int = 10,
        exclude: Collection[str] = (),
    ) -> list[Scored]:
        """The ``n`` best items for a known ``user`` (index or id) or, folded in, for a ``history``.

        Exactly one of ``user`` and ``history`` is given. The items of ``history``
        and of ``exclude`` are never recommended. A history with no item the model
        knows gets the most popular items.
        """
        if (user is None) == (history is None):
            raise ValueError("give exactly one of user and history")
        if n < 1:
            return []
        if history is not None:
            vector = self.fold_in(history)
            if not vector.any():
                return self._top(self.item_popularity, n, exclude, history)
            scores = self.item_factors @ vector.astype(np.float32)
            return self._top(scores, n, exclude, history)
        assert user is not None
        index = self._user_row(user)
        return self._top(self.item_factors @ self.user_factors[index], n, exclude, ())

    def similar_items(self, item: str, *, n: int = 10, exclude: Collection[str] = ()) -> list[Scored]:
        """The ``n`` items whose factors point most the same way as ``item``'s (cosine), itself left out."""
        if item not in self.item_index:
            raise UnknownIdError(f"item {item!r} is not in the model")
        unit = self._unit_item_factors
        scores = unit @ unit[self.item_index[item]]
        return self._top(scores, n, exclude, (item,))

    def _user_row(self, user: int | str) -> int:
        if isinstance(user, str):
            if user not in self.user_index:
                raise UnknownIdError(f"user {user!r} is not in the model")
            return self.user_index[user]
        if not 0 <= user < len(self.user_ids):
            raise UnknownIdError(f"user index {user} is not in 0..{len(self.user_ids) - 1}")
        return user

    def _top(
        self, scores: npt.NDArray[Any], n: int, exclude: Collection[str], seen: Collection[str]
    ) -> list[Scored]:
        scores = np.array(scores, dtype=np.float32)  # a copy: excluded items are overwritten
        index = self.item_index
        dropped = [index[item] for item in (*exclude, *seen) if item in index]
        scores[dropped] = -np.inf
        return [Scored(self.item_ids[i], float(scores[i])) for i in top_indices(scores, n).tolist()]

    def to_bytes(self) -> bytes:
        """The model as a versioned, checksummed artifact (see the module docstring)."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            user_factors=self.user_factors,
            item_factors=self.item_factors,
            item_popularity=self.item_popularity,
            user_ids=np.array(self.user_ids, dtype=np.str_),
            item_ids=np.array(self.item_ids, dtype=np.str_),
        )
        arrays = buffer.getvalue()
        manifest = json.dumps(
            {
                "format": "tubestream-recs-als",
                "format_version": ARTIFACT_VERSION,
                "arrays_sha256": hashlib.sha256(arrays).hexdigest(),
                "users": len(self.user_ids),
                "items": len(self.item_ids),
                "params": self.params.to_dict(),
                "metadata": self.metadata.to_dict(),
            },
            sort_keys=True,
        ).encode()
        body = _MAGIC + _HEADER.pack(len(manifest), len(arrays)) + manifest + arrays
        return body + hashlib.sha256(body).digest()

    @classmethod
    def from_bytes(cls, data: bytes) -> RecsModel:
        """The model in an artifact, else ``CorruptArtifactError`` or ``UnsupportedArtifactError``."""
        manifest, arrays = _open_artifact(data)
        try:
            with np.load(io.BytesIO(arrays), allow_pickle=False) as npz:
                loaded = {name: npz[name] for name in _ARRAYS}
            params = AlsParams.from_dict(manifest["params"])
            metadata = ModelMetadata.from_dict(manifest["metadata"])
            user_ids = tuple(str(u) for u in loaded["user_ids"].tolist())
            item_ids = tuple(str(i) for i in loaded["item_ids"].tolist())
            if (len(user_ids), len(item_ids)) != (manifest["users"], manifest["items"]):
                raise ValueError("the id arrays do not match the manifest's counts")
            return cls(
                user_ids=user_ids,
                item_ids=item_ids,
                user_factors=np.ascontiguousarray(loaded["user_factors"], dtype=np.float32),
                item_factors=np.ascontiguousarray(loaded["item_factors"], dtype=np.float32),
                item_popularity=np.ascontiguousarray(loaded["item_popularity"], dtype=np.float32),
                params=params,
                metadata=metadata,
            )
        except (ValueError, KeyError, TypeError, OSError) as exc:  # intact bytes, contents that do not fit
            raise CorruptArtifactError(f"artifact contents are not a model: {exc}") from exc


def top_indices(scores: npt.NDArray[np.floating[Any]], n: int) -> npt.NDArray[np.intp]:
    """Indices of the ``n`` highest scores, best first; ties go to the lower index, ``-inf`` never comes.

    ``argpartition`` alone would pick arbitrarily among items tied at the n-th
    score (whole blocks tie under most-popular), so results and metrics would
    depend on the sort's internals. The n-th score is found on the negated
    scores with a small ``kth``: numpy's selection with ``kth`` near the end of
    an array full of ties (every cold item scores the same) is ten times slower.
    """
    finite = int(np.count_nonzero(scores > -np.inf))
    n = min(n, finite)
    if n <= 0:
        return np.empty(0, dtype=np.intp)
    negated = -scores
    nth = np.partition(negated, n - 1)[n - 1]  # minus the n-th highest score
    above = np.flatnonzero(negated < nth)
    tied = np.flatnonzero(negated == nth)[: n - len(above)]
    chosen = np.concatenate((above, tied))
    return chosen[np.lexsort((chosen, negated[chosen]))]


def _open_artifact(data: bytes) -> tuple[dict[str, Any], bytes]:
    """Check framing and digests; the manifest and the ``.npz`` bytes."""
    fixed = len(_MAGIC) + _HEADER.size
    if not data.startswith(_MAGIC):
        raise CorruptArtifactError("not a tubestream recommendations artifact (wrong magic bytes)")
    if len(data) < fixed + _DIGEST_BYTES:
        raise CorruptArtifactError(f"artifact truncated: {len(data)} bytes, shorter than its header")
    manifest_len, arrays_len = _HEADER.unpack_from(data, len(_MAGIC))
    expected = fixed + manifest_len + arrays_len + _DIGEST_BYTES
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise CorruptArtifactError(f"artifact {what}: {len(data)} bytes, its header says {expected}")
    body, digest = data[:-_DIGEST_BYTES], data[-_DIGEST_BYTES:]
    if hashlib.sha256(body).digest() != digest:
        raise CorruptArtifactError("artifact checksum mismatch: the bytes were changed after it was written")
    manifest_bytes = body[fixed : fixed + manifest_len]
    arrays = body[fixed + manifest_len :]
    try:
        manifest = json.loads(manifest_bytes)
        if not isinstance(manifest, dict):
            raise ValueError("the manifest is not a JSON object")
        version = manifest.get("format_version")
        if manifest.get("format") != "tubestream-recs-als" or not isinstance(version, int):
            raise ValueError("the manifest does not name the tubestream-recs-als format and a version")
    except ValueError as exc:
        raise CorruptArtifactError(f"artifact manifest unreadable: {exc}") from exc
    if version != ARTIFACT_VERSION:
        raise UnsupportedArtifactError(
            f"artifact format version {version}; this code reads version {ARTIFACT_VERSION}"
        )
    if hashlib.sha256(arrays).hexdigest() != manifest.get("arrays_sha256"):
        raise CorruptArtifactError("artifact arrays do not match the manifest's arrays_sha256")
    return manifest, arrays


class _Estimator(Protocol):
    """What ``fit_als`` uses of implicit's AlternatingLeastSquares, CPU or GPU."""

    user_factors: Any
    item_factors: Any

    def fit(self, user_items: sp.csr_matrix, show_progress: bool = ...) -> None: ...


def use_gpu(device: Device, *, cuda_available: bool) -> bool:
    """Whether to fit on the GPU: ``auto`` follows ``cuda_available``; ``gpu`` without CUDA is an error."""
    if device == "gpu" and not cuda_available:
        raise RuntimeError("device 'gpu' asked for, but implicit was built without CUDA (or finds no GPU)")
    return device != "cpu" and cuda_available


def _as_numpy(factors: Any) -> Floats:
    """implicit's GPU factors are ``implicit.gpu.Matrix``; they come back to the host as numpy."""
    to_numpy = getattr(factors, "to_numpy", None)
    host = to_numpy() if callable(to_numpy) else factors
    return np.ascontiguousarray(host, dtype=np.float32)


def _new_estimator(params: AlsParams, *, gpu: bool) -> _Estimator:
    if gpu:
        return cast(
            "_Estimator",
            implicit.gpu.als.AlternatingLeastSquares(
                factors=params.factors,
                regularization=params.regularization,
                alpha=params.alpha,
                iterations=params.iterations,
                random_state=params.random_state,
            ),
        )
    return cast(
        "_Estimator",
        implicit.als.AlternatingLeastSquares(
            factors=params.factors,
            regularization=params.regularization,
            alpha=params.alpha,
            iterations=params.iterations,
            random_state=params.random_state,
            num_threads=params.num_threads,
            use_gpu=False,
        ),
    )


def fit_als(
    matrix: InteractionMatrix,
    params: AlsParams | None = None,
    *,
    offsets: Mapping[str, int] | None = None,
    trained_at: datetime | None = None,
) -> RecsModel:
    """Factorise ``matrix`` (weights, see ``interactions``); ``offsets`` are the input's high-water marks.

    BLAS is held to one thread while implicit runs: implicit parallelises over
    users itself, and a threaded BLAS underneath oversubscribes the cores
    (implicit warns about exactly that, and is many times slower).
    """
    params = params or AlsParams()
    if matrix.csr.nnz == 0:
        raise InvalidInteractionError("no interactions to fit: the matrix is empty")
    csr = matrix.csr if matrix.csr.dtype == np.float32 else matrix.csr.astype(np.float32)
    gpu = use_gpu(params.device, cuda_available=bool(implicit.gpu.HAS_CUDA))
    with threadpool_limits(limits=1, user_api="blas"):
        estimator = _new_estimator(params, gpu=gpu)
        started = time.perf_counter()
        estimator.fit(csr, show_progress=False)
        fit_s = time.perf_counter() - started
    return RecsModel(
        user_ids=matrix.user_ids,
        item_ids=matrix.item_ids,
        user_factors=_as_numpy(estimator.user_factors),
        item_factors=_as_numpy(estimator.item_factors),
        item_popularity=np.asarray(csr.sum(axis=0), dtype=np.float32).ravel(),
        params=params,
        metadata=ModelMetadata(
            trained_at=trained_at or datetime.now(UTC),
            offsets=dict(offsets or {}),
            device="gpu" if gpu else "cpu",
            fit_s=fit_s,
        ),
    )
