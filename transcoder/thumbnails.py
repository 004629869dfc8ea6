"""Storyboard layout and its cues, as pure functions.

A storyboard is one small frame every ``interval_s`` tiled into sprite
sheets; the WebVTT track (``manifests.thumbnails_vtt``) tells a player which
tile to show for which moment while scrubbing, as YouTube and PeerTube do.
The poster and the sheets themselves are drawn by the job's one FFmpeg
process (``command.py``: two more branches of the same ``split``), so the
source is decoded once for renditions and thumbnails alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from transcoder.manifests import Thumbnail

__all__ = ["StoryboardPlan", "plan_storyboard", "storyboard_cues"]


@dataclass(frozen=True, kw_only=True)
class StoryboardPlan:
    """Tiles of ``tile_width`` x ``tile_height``, ``columns`` x ``rows`` a sheet, one per ``interval_s``."""

    interval_s: float
    tile_width: int
    tile_height: int
    columns: int
    rows: int
    frames: int

    @property
    def sheets(self) -> int:
        return max(1, math.ceil(self.frames / (self.columns * self.rows)))


def plan_storyboard(
    duration_s: float, width: int, height: int, *, tile_width: int = 160, columns: int = 10, rows: int = 10
) -> StoryboardPlan:
    """One tile per second for short videos, fewer for long ones (at most ~ 300 tiles)."""
    interval = max(1.0, math.ceil(duration_s / 300))
    tile_height = max(2, round(tile_width * height / width / 2) * 2)
    frames = max(1, math.ceil(duration_s / interval))
    return StoryboardPlan(
        interval_s=interval,
        tile_width=tile_width,
        tile_height=tile_height,
        columns=columns,
        rows=rows,
        frames=frames,
    )


def storyboard_cues(
    plan: StoryboardPlan, duration_s: float, sheet_name: str = "storyboard-{n}.jpg"
) -> list[Thumbnail]:
    """One cue per tile, in the order FFmpeg's ``tile`` filter fills the sheets (rows, then sheets)."""
    per_sheet = plan.columns * plan.rows
    cues = []
    for index in range(plan.frames):
        sheet, cell = divmod(index, per_sheet)
        row, column = divmod(cell, plan.columns)
        start = index * plan.interval_s
        cues.append(
            Thumbnail(
                start_s=start,
                end_s=min(duration_s, start + plan.interval_s),
                sprite=sheet_name.format(n=sheet + 1),
                x=column * plan.tile_width,
                y=row * plan.tile_height,
                width=plan.tile_width,
                height=plan.tile_height,
            )
        )
    return cues
