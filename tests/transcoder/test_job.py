"""A job against a local blob store: deterministic keys, manifests last, redelivery overwrites."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import m3u8
import pytest
from mpegdash.parser import MPEGDASHParser

from blobs.errors import BlobNotFoundError, BlobUnavailableError
from blobs.local import LocalBlobStore
from transcoder.errors import JobCancelledError, SourceError
from transcoder.job import JobResult, run_job
from transcoder.ladder import LadderConfig

SOURCE_KEY = "uploads/v1/source"
ONE_SECOND = LadderConfig(segment_duration_s=1.0)


class RecordingStore(LocalBlobStore):
    """A local store that remembers the order of writes and can fail the n-th one, as a flaky S3 would.

    It also notes every manifest written that names a file not stored yet: a player fetching
    the manifest at that moment would get a 404.
    """

    def __init__(self, root: Path, *, fail_at: int | None = None) -> None:
        super().__init__(root)
        self.puts: list[str] = []
        self.fail_at = fail_at
        self.dangling: list[str] = []

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> None:
        if self.fail_at is not None and len(self.puts) == self.fail_at:
            raise BlobUnavailableError(f"injected failure writing {key}")
        folder = key.rsplit("/", 1)[0]
        self.dangling += [
            f"{key} -> {name}" for name in named_by(path) if not self.exists(f"{folder}/{name}")
        ]
        self.puts.append(key)
        super().put_file(key, path, content_type=content_type)


def named_by(path: Path) -> list[str]:
    """The files an HLS playlist or an MPD names (the MPD's templates expanded over its timelines)."""
    if path.suffix == ".m3u8":
        playlist = m3u8.loads(path.read_text())
        names = [p.uri for p in playlist.playlists] + [m.uri for m in playlist.media if m.uri]
        names += [m.uri for m in playlist.segment_map] + [seg.uri for seg in playlist.segments]
        return names
    if path.suffix != ".mpd":
        return []
    names = []
    mpd = MPEGDASHParser.parse(path.read_text())
    for adaptation in mpd.periods[0].adaptation_sets:
        for rep in adaptation.representations:
            template = rep.segment_templates[0]
            count = sum(1 + (s.r or 0) for s in template.segment_timelines[0].Ss)
            names.append(template.initialization.replace("$RepresentationID$", rep.id))
            media = template.media.replace("$RepresentationID$", rep.id)
            names += [media.replace("$Number%05d$", f"{n:05d}") for n in range(1, count + 1)]
    return names


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("source") / "source.mp4"
    lavfi = [
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=854x480:rate=25:duration=2",
        "-f",
        "lavfi",
        "-i",
        "sine=duration=2",
    ]
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", *lavfi, *encode, str(path)], check=True)
    return path


def store_with_source(root: Path, source: Path, *, fail_at: int | None = None) -> RecordingStore:
    store = RecordingStore(root, fail_at=fail_at)
    store.put_file(SOURCE_KEY, source)
    store.puts.clear()
    return store


def job(store: LocalBlobStore, workdir: Path, **kwargs: object) -> JobResult:
    return run_job(
        video_id="v1",
        job_id="j1",
        source_key=SOURCE_KEY,
        blobs=store,
        config=ONE_SECOND,
        speed="fast",
        workdir=workdir,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("progressive", [True, False])
def test_outputs_go_under_the_jobs_keys_with_the_manifests_last(
    tmp_path: Path, source: Path, progressive: bool
) -> None:
    store = store_with_source(tmp_path / "blobs", source)
    (tmp_path / "work").mkdir()
    progress: list[float] = []
    result = job(store, tmp_path / "work", on_progress=progress.append, progressive=progressive)

    assert all(key.startswith("videos/v1/j1/") for key in store.puts)
    assert store.puts[-2:] == ["videos/v1/j1/manifest.mpd", "videos/v1/j1/master.m3u8"]
    assert store.dangling == []  # no manifest named a file before it was stored
    if not progressive:
        last_media = max(i for i, key in enumerate(store.puts) if key.endswith((".m4s", ".jpg", ".vtt")))
        first_playlist = min(i for i, key in enumerate(store.puts) if key.endswith((".m3u8", ".mpd")))
        assert last_media < first_playlist  # nothing links to a segment before it is stored
    assert progress == sorted(progress) and progress[-1] == 100.0
    assert any(95.0 < p < 100.0 for p in progress)  # the uploads are part of the progress
    assert list((tmp_path / "work").iterdir()) == []  # the scratch folder is gone

    # what a rendition-ready event carries, and every key of it is in the store
    assert [r.rendition.rung.name for r in result.renditions] == ["360p", "480p"]
    for r in result.renditions:
        assert r.rendition.encoder == "libx264"
        assert r.manifest_key == f"videos/v1/j1/{r.rendition.playlist}"
        assert all(store.exists(k) for k in (r.manifest_key, r.init_key, *r.segment_keys))
        assert len(r.segment_keys) == 2
    assert (result.hls_master_key, result.dash_manifest_key) == (
        "videos/v1/j1/master.m3u8",
        "videos/v1/j1/manifest.mpd",
    )
    assert result.poster_key and store.exists(result.poster_key)
    assert result.storyboard_key and store.exists(result.storyboard_key)
    master = m3u8.loads(store.read_bytes(result.hls_master_key).decode())
    assert {p.uri for p in master.playlists} == {r.rendition.playlist for r in result.renditions}


def test_a_redelivered_job_overwrites_its_own_output(tmp_path: Path, source: Path) -> None:
    store = store_with_source(tmp_path / "blobs", source)
    first = job(store, tmp_path)
    keys = store.list("videos/v1/")
    store.puts.clear()
    second = job(store, tmp_path)
    assert store.list("videos/v1/") == keys  # the same objects, not a second copy
    assert sorted(set(store.puts)) == keys
    assert [r.segment_keys for r in second.renditions] == [r.segment_keys for r in first.renditions]


def test_a_job_that_dies_mid_upload_is_never_playable(tmp_path: Path, source: Path) -> None:
    store = store_with_source(tmp_path / "blobs", source, fail_at=5)
    with pytest.raises(BlobUnavailableError, match="injected"):
        job(store, tmp_path)
    stored = store.list("videos/v1/j1/")
    assert len(stored) == 5
    assert not any(key.endswith((".m3u8", ".mpd")) for key in stored)


def test_a_missing_source_is_the_stores_error(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "blobs")
    with pytest.raises(BlobNotFoundError):
        job(store, tmp_path / "blobs")
    assert store.puts == []


def test_a_source_that_is_not_a_video_uploads_nothing(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "blobs")
    store.put_bytes(SOURCE_KEY, b"\x00garbage" * 1000)
    with pytest.raises(SourceError, match="ffprobe cannot read the source"):
        job(store, tmp_path)
    assert store.puts == [] and store.list("videos/") == []


def test_a_cancelled_job_uploads_nothing(tmp_path: Path, source: Path) -> None:
    store = store_with_source(tmp_path / "blobs", source)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(JobCancelledError):
        job(store, tmp_path, cancel=cancel)
    assert store.puts == []


def test_the_lowest_rung_is_playable_before_the_rest_of_the_ladder_is_encoded(
    tmp_path: Path, source: Path
) -> None:
    """Time to first playable: the 360p rendition, its audio and a master naming only it are stored and
    announced first; the master grows to the whole ladder once the rest is packaged."""
    store = store_with_source(tmp_path / "blobs", source)
    seen: list[tuple[list[str], list[str], int]] = []

    def playable(partial: JobResult) -> None:
        master = m3u8.loads(store.read_bytes(partial.hls_master_key).decode())
        seen.append(
            (
                [r.rendition.rung.name for r in partial.renditions],
                [p.uri for p in master.playlists],
                len(store.puts),
            )
        )

    result = job(store, tmp_path, on_playable=playable)
    [(names, listed, puts_then)] = seen
    assert names == ["360p"] and listed == ["media_0.m3u8"]
    assert store.puts[puts_then - 1] == "videos/v1/j1/master.m3u8"  # announced once its master is stored
    assert [r.rendition.rung.name for r in result.renditions] == ["360p", "480p"]
    master = m3u8.loads(store.read_bytes(result.hls_master_key).decode())
    assert {p.uri for p in master.playlists} == {"media_0.m3u8", "media_2.m3u8"}  # 1 is the audio
    assert len(master.media) == 1 and store.dangling == []
    assert store.puts.count("videos/v1/j1/master.m3u8") == 2  # written once small, once grown
    assert not any("/later/" in key for key in store.puts)  # the second part's scratch folder stays local
