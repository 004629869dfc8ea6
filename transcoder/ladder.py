"""Ladder planning: from a probed source to the renditions worth encoding. Pure.

Rungs are named for the short side (a vertical 1080x1920 video has a 1080p
rung), never larger than the source (no upscaling), with even dimensions and
the source's aspect ratio kept. Bitrates follow a per-height table for H.264
(close to the ones YouTube recommends for SDR uploads) scaled by how much
more efficient the codec is and by the frame rate. When the highest rung
that fits keeps much less than the source's own size (an 854x478 upload
would top out at 360p, a 1278x718 one at 480p), one more rung at the
source's own size is added, as PeerTube keeps the original resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.transcode_requested import VideoCodec
from transcoder.probe import ProbedSource

__all__ = ["H264_KBPS", "LADDER_HEIGHTS", "LadderConfig", "Rung", "plan_ladder"]

LADDER_HEIGHTS = (360, 480, 720, 1080, 1440, 2160)
H264_KBPS = {360: 800, 480: 1400, 720: 2800, 1080: 5000, 1440: 9000, 2160: 16000}
CODEC_EFFICIENCY = {VideoCodec.H264: 1.0, VideoCodec.H265: 0.6, VideoCodec.VP9: 0.65, VideoCodec.AV1: 0.5}
HIGH_FPS_FACTOR = 1.5  # 50/60 fps needs about half again the bits of 25/30 fps
# a source whose short side the highest fitting rung keeps less of than this gets a rung of its own size
KEEP_SOURCE_BELOW = 0.9


@dataclass(frozen=True, kw_only=True)
class LadderConfig:
    codecs: tuple[VideoCodec, ...] = (VideoCodec.H264,)
    max_height: int = 2160  # on the short side
    max_frame_rate: float = 60.0
    segment_duration_s: float = 4.0
    heights: tuple[int, ...] = field(default=LADDER_HEIGHTS)


@dataclass(frozen=True, kw_only=True)
class Rung:
    name: str
    codec: VideoCodec
    width: int
    height: int
    bitrate_kbps: int
    frame_rate: float


def plan_ladder(source: ProbedSource, config: LadderConfig = LadderConfig()) -> tuple[Rung, ...]:
    short, long = sorted((source.width, source.height))
    vertical = source.height > source.width
    targets = [h for h in config.heights if h <= short and h <= config.max_height]
    if not targets:  # smaller than the smallest rung: one rendition at the source's own size
        targets = [min(short, config.max_height)]
    elif (
        short <= config.max_height and targets[-1] < KEEP_SOURCE_BELOW * short and _even(short) > targets[-1]
    ):
        targets.append(_even(short))  # the next rung down would lose much of the source: keep its size
    frame_rate = _capped_rate(source.frame_rate, config.max_frame_rate)
    rungs = []
    for codec in config.codecs:
        for target in targets:
            short_side = _even(target)
            long_side = min(_nearest_even(long * target / short), _even(long))
            width, height = (short_side, long_side) if vertical else (long_side, short_side)
            suffix = "" if len(config.codecs) == 1 else f"-{codec.value.lower()}"
            rungs.append(
                Rung(
                    name=f"{short_side}p{suffix}",
                    codec=codec,
                    width=width,
                    height=height,
                    bitrate_kbps=_bitrate(target, codec, frame_rate),
                    frame_rate=frame_rate,
                )
            )
    return tuple(rungs)


def _capped_rate(rate: float, cap: float) -> float:
    """Halve until under the cap, so frames are dropped evenly (120 → 60, 50 → 50 at cap 60)."""
    while rate > cap + 0.01:
        rate /= 2
    return round(rate, 3)


def _bitrate(height: int, codec: VideoCodec, frame_rate: float) -> int:
    base = H264_KBPS.get(height) or _between_rungs(height)
    fps_factor = HIGH_FPS_FACTOR if frame_rate > 31 else 1.0
    return max(100, round(base * CODEC_EFFICIENCY[codec] * fps_factor))


def _between_rungs(height: int) -> int:
    """An off-table height's rate: below 360p the smallest rung's scaled by area, else interpolated
    by area between the table's neighbours (a 718p rung gets a little less than 720p)."""
    heights = sorted(H264_KBPS)
    if height < heights[0]:
        return max(150, round(H264_KBPS[heights[0]] * (height / heights[0]) ** 2))
    if height > heights[-1]:
        return round(H264_KBPS[heights[-1]] * (height / heights[-1]) ** 2)
    upper = next(h for h in heights if h > height)
    lower = heights[heights.index(upper) - 1]
    share = (height**2 - lower**2) / (upper**2 - lower**2)
    return round(H264_KBPS[lower] + share * (H264_KBPS[upper] - H264_KBPS[lower]))


def _even(n: int) -> int:
    return max(2, n - n % 2)


def _nearest_even(x: float) -> int:
    """854 for 853.3 (the usual 480p width), where truncating would give 852."""
    return max(2, 2 * round(x / 2))
