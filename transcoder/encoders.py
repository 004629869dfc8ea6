"""Which encoder runs a codec: NVENC when present and working, otherwise the CPU encoder.

Debian's FFmpeg lists ``h264_nvenc`` even on machines without an NVIDIA GPU,
so presence in ``-encoders`` proves nothing: a one-frame test encode does.
The answer is cached per process.
"""

from __future__ import annotations

import functools
import subprocess

from schemas.transcode_requested import VideoCodec

__all__ = ["CPU_ENCODERS", "GPU_ENCODERS", "choose_encoder", "encoder_works"]

CPU_ENCODERS = {
    VideoCodec.H264: "libx264",
    VideoCodec.H265: "libx265",
    VideoCodec.VP9: "libvpx-vp9",
    VideoCodec.AV1: "libsvtav1",
}
GPU_ENCODERS = {VideoCodec.H264: "h264_nvenc", VideoCodec.H265: "hevc_nvenc", VideoCodec.AV1: "av1_nvenc"}


@functools.cache
def encoder_works(encoder: str) -> bool:
    """A one-frame test encode succeeds: NVENC needs a GPU, a driver and a free encoder session."""
    try:
        result = subprocess.run(
            [
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
                "-i", "color=black:size=256x144:duration=0.1", "-frames:v", "1",
                "-c:v", encoder, "-f", "null", "-",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):  # no ffmpeg, or a driver that hangs: not usable
        return False
    return result.returncode == 0


def choose_encoder(codec: VideoCodec, preference: str = "auto") -> str:
    """The FFmpeg encoder for ``codec``.

    ``auto``: the GPU encoder if it works here, else the CPU one (VP9 has no NVENC encoder);
    ``cpu``/``gpu`` force one (``gpu`` raises ``ValueError`` when there is none that works);
    anything else is taken as an encoder name, for experiments.
    """
    if preference == "cpu":
        return CPU_ENCODERS[codec]
    gpu = GPU_ENCODERS.get(codec)
    if preference == "gpu":
        if gpu is None or not encoder_works(gpu):
            raise ValueError(f"no working GPU encoder for {codec.value} on this machine")
        return gpu
    if preference == "auto":
        return gpu if gpu is not None and encoder_works(gpu) else CPU_ENCODERS[codec]
    return preference
