"""Encoder profiles: the options of one video output stream, as pure functions.

Every profile makes keyframes land on the same timestamps in every rendition
(a fixed GOP of one segment and no scene-cut keyframes), so a player can
switch renditions at any segment boundary. Speed is a knob (``fast`` for
tests and previews, ``balanced`` for production), not a per-codec constant.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["Speed", "audio_options", "video_options"]

Speed = Literal["fast", "balanced"]

_X26X_PRESET = {"fast": "ultrafast", "balanced": "veryfast"}  # x264/x265 speed-for-size presets
# libvpx's realtime deadline is 3-4x faster but its one-pass rate control forces a keyframe at a
# scene cut whatever the GOP settings (vp9_scene_detection_onepass), which would break keyframe
# alignment; so VP9 always uses the good deadline, where 5 is the fastest speed.
_VP9_CPU_USED = {"fast": "5", "balanced": "4"}  # 0 best .. 5 fastest in good mode
_SVT_PRESET = {"fast": "12", "balanced": "8"}  # 0 best .. 13 fastest
_NVENC_PRESET = {"fast": "p1", "balanced": "p4"}  # p1 fastest .. p7 best


def video_options(
    encoder: str, index: int, *, bitrate_kbps: int, gop_frames: int, speed: Speed = "balanced"
) -> dict[str, str]:
    """Options for output video stream ``index`` (``-b:v:0 ...``)."""
    s = f"v:{index}"
    rate = {
        f"c:{s}": encoder,
        f"b:{s}": f"{bitrate_kbps}k",
        f"maxrate:{s}": f"{round(bitrate_kbps * 1.5)}k",  # capped VBR: peaks stay playable
        f"bufsize:{s}": f"{bitrate_kbps * 2}k",  # the VBV: about two seconds of the target rate
        f"g:{s}": str(gop_frames),  # one keyframe per segment ...
        f"keyint_min:{s}": str(gop_frames),  # ... and no more
    }
    if encoder == "libx264":
        return rate | {
            f"preset:{s}": _X26X_PRESET[speed],
            f"profile:{s}": "high",  # a ceiling: ultrafast turns CABAC off and comes out Constrained Baseline
            # scenecut=0: no extra keyframes at scene cuts; open-gop=0: every keyframe is an IDR that a
            # segment can start with
            f"x264-params:{s}": "scenecut=0:open-gop=0",
        }
    if encoder == "libx265":
        return rate | {
            f"preset:{s}": _X26X_PRESET[speed],
            f"tag:{s}": "hvc1",  # the tag Apple players require for HEVC in MP4
            # the GOP stated in x265's own terms too; scenecut and open-gop as for x264; log-level=error
            # keeps x265's banner and statistics out of the stderr we keep for errors
            f"x265-params:{s}": (
                f"keyint={gop_frames}:min-keyint={gop_frames}:scenecut=0:open-gop=0:log-level=error"
            ),
        }
    if encoder == "libvpx-vp9":
        return rate | {
            f"deadline:{s}": "good",  # not realtime: see _VP9_CPU_USED
            f"cpu-used:{s}": _VP9_CPU_USED[speed],
            f"row-mt:{s}": "1",  # use every core on one stream
        }
    if encoder == "libsvtav1":
        return rate | {
            f"preset:{s}": _SVT_PRESET[speed],
            f"svtav1-params:{s}": "scd=0",  # no scene-change keyframes
        }
    if encoder.endswith("_nvenc"):
        return rate | {
            f"preset:{s}": _NVENC_PRESET[speed],
            f"forced-idr:{s}": "1",  # forced keyframes are IDR: segments start cleanly
            f"no-scenecut:{s}": "1",  # no extra keyframes at scene cuts
        }
    raise ValueError(f"no profile for encoder {encoder!r}")


def audio_options(*, bitrate_kbps: int = 128) -> dict[str, str]:
    """One AAC-LC stereo track, encoded once and shared by every rendition."""
    return {"c:a": "aac", "b:a": f"{bitrate_kbps}k", "ac": "2"}  # ac 2: 5.1 sources are downmixed
