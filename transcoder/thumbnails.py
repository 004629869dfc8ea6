"""Storyboard layout and its cues, as pure functions.

A storyboard is one small frame every ``interval_s`` tiled into sprite
sheets; the WebVTT track (``manifests.thumbnails_vtt``) tells a player which
tile to show for which moment while scrubbing, as YouTube and PeerTube do.
The poster and the tiles are drawn by the job's one FFmpeg process
(``command.py``: two more branches of the same ``split``), so the source is
decoded once for renditions and thumbnails alike. The tiles come out one
image each, as they are decoded, and are laid out into sheets afterwards
(``sheet_layouts``), sized by the tiles actually drawn: a sheet laid out
before the encode for the tiles a duration promises is mostly black when the
video is short, and FFmpeg's ``tile`` filter would hold its first output
back until a whole sheet is full, which holds back FFmpeg's progress report
too (it waits until every output has started).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from transcoder.manifests import Thumbnail

__all__ = ["SheetLayout", "StoryboardPlan", "plan_storyboard", "sheet_layouts", "storyboard_cues"]

SHEET_NAME = "storyboard-{n}.jpg"


@dataclass(frozen=True, kw_only=True)
class StoryboardPlan:
    """Tiles of ``tile_width`` x ``tile_height``, one per ``interval_s``, ``columns`` x ``rows`` per sheet."""

    interval_s: float
    tile_width: int
    tile_height: int
    columns: int
    rows: int
    frames: int  # the tiles the duration calls for; FFmpeg may draw one fewer

    @property
    def sheets(self) -> int:
        return max(1, math.ceil(self.frames / (self.columns * self.rows)))


@dataclass(frozen=True, kw_only=True)
class SheetLayout:
    """One sprite sheet: tiles ``first`` .. ``first + count - 1`` (0-based), ``columns`` x ``rows``."""

    name: str
    first: int
    count: int
    columns: int
    rows: int
    tile_width: int
    tile_height: int

    @property
    def width(self) -> int:
        return self.columns * self.tile_width

    @property
    def height(self) -> int:
        return self.rows * self.tile_height


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


def sheet_layouts(plan: StoryboardPlan, tiles: int, *, sheet_name: str = SHEET_NAME) -> list[SheetLayout]:
    """Sheets for ``tiles`` drawn tiles (no more than the plan calls for): full sheets, then the rest.

    A sheet of fewer tiles than a full one is as wide as its tiles need (up to ``columns``)
    and as tall as its rows: only the last row can have empty cells.
    """
    tiles = min(tiles, plan.frames)
    per_sheet = plan.columns * plan.rows
    layouts = []
    for number, first in enumerate(range(0, tiles, per_sheet), start=1):
        count = min(per_sheet, tiles - first)
        columns = min(plan.columns, count)
        layouts.append(
            SheetLayout(
                name=sheet_name.format(n=number),
                first=first,
                count=count,
                columns=columns,
                rows=math.ceil(count / columns),
                tile_width=plan.tile_width,
                tile_height=plan.tile_height,
            )
        )
    return layouts


def storyboard_cues(
    plan: StoryboardPlan, sheets: Sequence[SheetLayout], duration_s: float
) -> list[Thumbnail]:
    """One cue per tile, in the order the sheets hold them (rows, then sheets); the last ends the video."""
    cues = []
    for sheet in sheets:
        for cell in range(sheet.count):
            row, column = divmod(cell, sheet.columns)
            start = (sheet.first + cell) * plan.interval_s
            cues.append(
                Thumbnail(
                    start_s=start,
                    end_s=min(duration_s, start + plan.interval_s),
                    sprite=sheet.name,
                    x=column * sheet.tile_width,
                    y=row * sheet.tile_height,
                    width=sheet.tile_width,
                    height=sheet.tile_height,
                )
            )
    if cues and cues[-1].end_s < duration_s:  # one tile fewer than the duration: the last one covers it
        cues[-1] = dataclasses.replace(cues[-1], end_s=duration_s)
    return cues
