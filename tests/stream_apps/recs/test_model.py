"""The ALS model: fit, fold-in and similar items on planted clusters, the artifact, GPU selection."""

from __future__ import annotations

import hashlib
import json
import struct
from datetime import UTC, datetime
from typing import Any

import implicit.cpu.als
import implicit.gpu
import implicit.gpu.als
import implicit.utils
import numpy as np
import pytest
import scipy.sparse as sp
import threadpoolctl

from stream_apps.recs.errors import (
    ArtifactError,
    CorruptArtifactError,
    InvalidInteractionError,
    UnknownIdError,
    UnsupportedArtifactError,
)
from stream_apps.recs.interactions import InteractionMatrix, build_matrix
from stream_apps.recs.model import ARTIFACT_VERSION, AlsParams, RecsModel, fit_als, top_indices, use_gpu

CLUSTERS, ITEMS_PER_CLUSTER, USERS_PER_CLUSTER = 3, 20, 30
PARAMS = AlsParams(factors=8, regularization=0.1, alpha=10.0, iterations=8, random_state=1, num_threads=1)


def cluster_of(item: str) -> int:
    return int(item[1]) if item.startswith("c") else -1


def clustered_matrix() -> InteractionMatrix:
    """Users of cluster c watch 8 of cluster c's 20 videos (``c<cluster>-<n>``), with varied weights."""
    rng = np.random.default_rng(7)
    rows = []
    for cluster in range(CLUSTERS):
        for u in range(USERS_PER_CLUSTER):
            for n in rng.choice(ITEMS_PER_CLUSTER, size=8, replace=False):
                rows.append((f"u{cluster}-{u:02d}", f"c{cluster}-{n:02d}", float(rng.uniform(0.3, 2.0))))
    return build_matrix(rows)


@pytest.fixture(scope="module")
def model() -> RecsModel:
    return fit_als(
        clustered_matrix(),
        PARAMS,
        offsets={"playback-event/0": 1234, "playback-event/1": 99},
        trained_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def test_fit_keeps_ids_params_metadata_and_numpy_factors(model: RecsModel) -> None:
    users, items = CLUSTERS * USERS_PER_CLUSTER, CLUSTERS * ITEMS_PER_CLUSTER
    assert model.user_factors.shape == (users, PARAMS.factors)
    assert model.item_factors.shape == (items, PARAMS.factors)
    assert model.user_factors.dtype == np.float32 and isinstance(model.item_factors, np.ndarray)
    assert model.user_ids[0] == "u0-00" and model.item_ids[-1] == "c2-19"
    assert model.params == PARAMS
    assert model.metadata.offsets == {"playback-event/0": 1234, "playback-event/1": 99}
    assert model.metadata.device == "cpu" and model.metadata.fit_s > 0
    assert model.item_popularity.shape == (items,) and model.item_popularity.sum() > 0


def test_a_known_user_gets_their_clusters_videos(model: RecsModel) -> None:
    for user in ("u0-03", "u1-10", "u2-29"):
        picks = model.recommend(user=user, n=5)
        assert len(picks) == 5
        assert {cluster_of(p.item_id) for p in picks} == {int(user[1])}
    assert model.recommend(user=model.user_index["u1-10"], n=5) == model.recommend(user="u1-10", n=5)


def test_fold_in_a_viewer_who_just_watched_one_cluster_gets_that_cluster(model: RecsModel) -> None:
    history = {"c2-01": 1.5, "c2-04": 0.7, "c2-11": 1.0}
    picks = model.recommend(history=history, n=8)
    assert len(picks) == 8
    assert all(cluster_of(p.item_id) == 2 for p in picks)
    assert not set(history) & {p.item_id for p in picks}  # watched videos are not recommended again
    scores = [p.score for p in picks]
    assert scores == sorted(scores, reverse=True)


def test_fold_in_solves_the_same_least_squares_as_implicit(model: RecsModel) -> None:
    history = {"c0-02": 1.0, "c1-05": 0.4, "c0-09": 2.0}
    columns = [model.item_index[item] for item in history]
    row = sp.csr_matrix(
        (np.array(list(history.values()), dtype=np.float32), ([0, 0, 0], columns)),
        shape=(1, len(model.item_ids)),
    )
    reference = implicit.cpu.als.AlternatingLeastSquares(
        factors=PARAMS.factors, regularization=PARAMS.regularization, alpha=PARAMS.alpha, num_threads=1
    )
    reference.user_factors, reference.item_factors = model.user_factors, model.item_factors
    expected = reference.recalculate_user(0, row)
    np.testing.assert_allclose(model.fold_in(history), expected, rtol=1e-4, atol=1e-5)


def test_exclude_unknown_items_and_cold_viewers(model: RecsModel) -> None:
    top = model.recommend(user="u0-00", n=3)
    again = model.recommend(user="u0-00", n=3, exclude={top[0].item_id})
    assert top[0].item_id not in {p.item_id for p in again}
    assert again[:2] == top[1:]
    # only videos the model has never seen: the most popular ones, none of the history
    cold = model.recommend(history={"new-video": 1.0}, n=4)
    popular = [model.item_ids[i] for i in np.argsort(-model.item_popularity, kind="stable")[:4]]
    assert [p.item_id for p in cold] == popular
    assert model.recommend(history={}, n=2) == cold[:2]
    assert len(model.recommend(user="u0-00", n=10_000)) == len(model.item_ids)
    assert model.recommend(user="u0-00", n=0) == []


def test_recommend_refuses_unknown_users_and_ambiguous_requests(model: RecsModel) -> None:
    with pytest.raises(UnknownIdError, match="nobody"):
        model.recommend(user="nobody")
    with pytest.raises(UnknownIdError):
        model.recommend(user=len(model.user_ids))
    with pytest.raises(ValueError, match="exactly one"):
        model.recommend(user="u0-00", history={"c0-01": 1.0})
    with pytest.raises(ValueError, match="exactly one"):
        model.recommend()
    with pytest.raises(InvalidInteractionError):
        model.recommend(history={"c0-01": -1.0})


def test_top_indices_break_ties_by_index_and_never_return_minus_infinity() -> None:
    tied = np.array([1.0, 5.0, 5.0, 5.0, 5.0, 0.0, 5.0, 9.0] * 50, dtype=np.float32)
    assert top_indices(tied, 4).tolist() == [7, 15, 23, 31]
    assert top_indices(tied[:8], 4).tolist() == [7, 1, 2, 3]
    shuffled = np.random.default_rng(0).permutation(1000).astype(np.float64)
    assert top_indices(shuffled, 5).tolist() == np.argsort(-shuffled)[:5].tolist()
    blocked = np.array([2.0, -np.inf, 1.0, -np.inf])
    assert top_indices(blocked, 10).tolist() == [0, 2]
    assert top_indices(blocked, 0).tolist() == []
    assert top_indices(np.full(3, -np.inf), 2).tolist() == []


def test_similar_items_stay_in_the_cluster(model: RecsModel) -> None:
    similar = model.similar_items("c1-07", n=5)
    assert len(similar) == 5 and "c1-07" not in {s.item_id for s in similar}
    assert {cluster_of(s.item_id) for s in similar} == {1}
    assert all(-1.0 - 1e-6 <= s.score <= 1.0 + 1e-6 for s in similar)
    with pytest.raises(UnknownIdError):
        model.similar_items("nope")


def test_artifact_round_trip(model: RecsModel) -> None:
    graded = model.with_metrics({"recall@10": 0.42})
    loaded = RecsModel.from_bytes(graded.to_bytes())

    assert loaded.user_ids == model.user_ids and loaded.item_ids == model.item_ids
    np.testing.assert_array_equal(loaded.user_factors, model.user_factors)
    np.testing.assert_array_equal(loaded.item_factors, model.item_factors)
    np.testing.assert_array_equal(loaded.item_popularity, model.item_popularity)
    assert loaded.params == model.params
    assert loaded.metadata == graded.metadata
    assert loaded.metadata.metrics == {"recall@10": 0.42}
    assert loaded.metadata.trained_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    history = {"c2-01": 1.0}
    assert loaded.recommend(history=history, n=5) == model.recommend(history=history, n=5)


def test_a_truncated_or_padded_artifact_is_refused(model: RecsModel) -> None:
    data = model.to_bytes()
    for length in (0, 4, 8, 20, 100, len(data) // 2, len(data) - 33, len(data) - 1):
        with pytest.raises(CorruptArtifactError, match=r"truncated|magic"):
            RecsModel.from_bytes(data[:length])
    with pytest.raises(CorruptArtifactError, match="trailing"):
        RecsModel.from_bytes(data + b"\0")


def test_every_single_bit_flip_is_refused(model: RecsModel) -> None:
    small = fit_als(build_matrix([("a", "x", 1.0), ("a", "y", 1.0), ("b", "y", 1.0)]), PARAMS)
    data = small.to_bytes()
    for position in range(len(data)):
        for bit in (0, 5):
            flipped = bytearray(data)
            flipped[position] ^= 1 << bit
            with pytest.raises(CorruptArtifactError):
                RecsModel.from_bytes(bytes(flipped))


def test_other_bytes_are_not_an_artifact(model: RecsModel) -> None:
    with pytest.raises(CorruptArtifactError, match="magic"):
        RecsModel.from_bytes(b"PK\x03\x04 a zip, say an .npz, is not an artifact")


def resigned(data: bytes, change: Any) -> bytes:
    """The artifact with its manifest changed by ``change`` and every length and digest made right again."""
    magic = data[:8]
    manifest_len, arrays_len = struct.unpack_from(">IQ", data, 8)
    manifest = json.loads(data[20 : 20 + manifest_len])
    arrays = data[20 + manifest_len : 20 + manifest_len + arrays_len]
    change(manifest)
    text = json.dumps(manifest).encode()
    body = magic + struct.pack(">IQ", len(text), len(arrays)) + text + arrays
    return body + hashlib.sha256(body).digest()


def test_an_intact_artifact_of_another_version_says_so(model: RecsModel) -> None:
    data = resigned(model.to_bytes(), lambda m: m.update(format_version=ARTIFACT_VERSION + 1))
    with pytest.raises(UnsupportedArtifactError, match=f"version {ARTIFACT_VERSION + 1}"):
        RecsModel.from_bytes(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(arrays_sha256="0" * 64), "arrays_sha256"),
        (lambda m: m.update(users=1), "counts"),
        (lambda m: m["params"].update(factors=3), "factors are"),
        (lambda m: m["metadata"].pop("trained_at"), "trained_at"),
        (lambda m: m.pop("format"), "format"),
    ],
)
def test_an_intact_artifact_whose_contents_do_not_fit_is_corrupt(
    model: RecsModel, change: Any, message: str
) -> None:
    with pytest.raises(CorruptArtifactError, match=message):
        RecsModel.from_bytes(resigned(model.to_bytes(), change))
    assert issubclass(CorruptArtifactError, ArtifactError)


@pytest.mark.parametrize(
    ("device", "cuda", "expected"),
    [("auto", True, True), ("auto", False, False), ("cpu", True, False), ("gpu", True, True)],
)
def test_gpu_selection(device: Any, cuda: bool, expected: bool) -> None:
    assert use_gpu(device, cuda_available=cuda) is expected


def test_asking_for_the_gpu_without_cuda_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="without CUDA"):
        use_gpu("gpu", cuda_available=False)


class _GpuMatrix:
    """Stands in for ``implicit.gpu.Matrix``: factors live on the device until ``to_numpy``."""

    def __init__(self, host: np.ndarray[Any, Any]) -> None:
        self._host = host

    def to_numpy(self) -> np.ndarray[Any, Any]:
        return self._host


class _FakeGpuAls:
    """implicit's GPU estimator as far as ``fit_als`` sees it, computing on the CPU."""

    made: list[dict[str, Any]] = []

    def __init__(self, **kwargs: Any) -> None:
        type(self).made.append(kwargs)
        self._cpu = implicit.cpu.als.AlternatingLeastSquares(**kwargs, num_threads=1)
        self.user_factors: Any = None
        self.item_factors: Any = None

    def fit(self, user_items: sp.csr_matrix, show_progress: bool = True) -> None:
        self._cpu.fit(user_items, show_progress=show_progress)
        self.user_factors = _GpuMatrix(self._cpu.user_factors)
        self.item_factors = _GpuMatrix(self._cpu.item_factors)


def test_fit_takes_the_gpu_when_implicit_has_cuda_and_brings_factors_back_as_numpy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(implicit.gpu, "HAS_CUDA", True)
    monkeypatch.setattr(implicit.gpu.als, "AlternatingLeastSquares", _FakeGpuAls)
    _FakeGpuAls.made.clear()
    matrix = clustered_matrix()

    on_gpu = fit_als(matrix, PARAMS)
    assert on_gpu.metadata.device == "gpu"
    assert _FakeGpuAls.made == [
        {"factors": 8, "regularization": 0.1, "alpha": 10.0, "iterations": 8, "random_state": 1}
    ]
    assert type(on_gpu.item_factors) is np.ndarray and on_gpu.item_factors.dtype == np.float32
    assert on_gpu.item_factors.shape == (len(matrix.item_ids), PARAMS.factors)

    on_cpu = fit_als(matrix, AlsParams(**{**PARAMS.to_dict(), "device": "cpu"}))
    assert on_cpu.metadata.device == "cpu" and len(_FakeGpuAls.made) == 1


def test_fit_holds_blas_to_one_thread_so_implicit_does_not_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    threaded = any(
        api["user_api"] == "blas" and api["num_threads"] > 1 for api in threadpoolctl.threadpool_info()
    )
    monkeypatch.setattr(implicit.utils, "_checked_blas_config", False)  # implicit checks once per process
    if threaded:  # the check this guards against: implicit alone warns on a threaded BLAS
        with pytest.warns(RuntimeWarning, match="threads"):
            implicit.cpu.als.AlternatingLeastSquares(factors=4)
        monkeypatch.setattr(implicit.utils, "_checked_blas_config", False)
    fit_als(clustered_matrix(), PARAMS)  # pytest turns any warning into an error


def test_an_empty_matrix_is_refused() -> None:
    with pytest.raises(InvalidInteractionError, match="empty"):
        fit_als(build_matrix([], user_ids=["u"], item_ids=["a"]), PARAMS)


def test_params_are_validated() -> None:
    with pytest.raises(ValueError):
        AlsParams(factors=0)
    with pytest.raises(ValueError):
        AlsParams(alpha=0)
    with pytest.raises(ValueError):
        AlsParams(device="tpu")  # type: ignore[arg-type]
    assert AlsParams.from_dict(AlsParams().to_dict()) == AlsParams()
