"""Choosing an encoder: NVENC only when a test encode proves it works, the CPU encoder otherwise."""

from __future__ import annotations

import pytest

from schemas.transcode_requested import VideoCodec
from transcoder import encoders
from transcoder.encoders import CPU_ENCODERS, GPU_ENCODERS, choose_encoder, encoder_works


def test_cpu_gives_the_software_encoder_of_each_codec() -> None:
    assert [choose_encoder(c, "cpu") for c in VideoCodec] == ["libx264", "libx265", "libvpx-vp9", "libsvtav1"]


def test_a_software_encoder_passes_the_test_encode_and_a_made_up_one_does_not() -> None:
    assert encoder_works("libx264")
    assert not encoder_works("no_such_encoder")


def test_auto_uses_nvenc_exactly_when_its_test_encode_works_here() -> None:
    """Debian's FFmpeg lists h264_nvenc on every machine; only a GPU with NVENC makes it work."""
    for codec in VideoCodec:
        gpu = GPU_ENCODERS.get(codec)
        expected = gpu if gpu is not None and encoder_works(gpu) else CPU_ENCODERS[codec]
        assert choose_encoder(codec, "auto") == expected


def test_auto_falls_back_to_the_cpu_when_nvenc_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoders, "encoder_works", lambda name: False)
    assert choose_encoder(VideoCodec.H264, "auto") == "libx264"
    with pytest.raises(ValueError, match="no working GPU encoder for H264"):
        choose_encoder(VideoCodec.H264, "gpu")


def test_auto_and_gpu_use_nvenc_when_it_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoders, "encoder_works", lambda name: name.endswith("_nvenc"))
    assert choose_encoder(VideoCodec.H264, "auto") == "h264_nvenc"
    assert choose_encoder(VideoCodec.H265, "gpu") == "hevc_nvenc"
    assert choose_encoder(VideoCodec.VP9, "auto") == "libvpx-vp9"  # no NVENC for VP9
    with pytest.raises(ValueError, match="VP9"):
        choose_encoder(VideoCodec.VP9, "gpu")


def test_any_other_preference_is_an_encoder_name() -> None:
    assert choose_encoder(VideoCodec.H264, "libopenh264") == "libopenh264"
