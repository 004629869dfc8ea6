"""Storyboard layout and cues: which tile of which sprite sheet a player shows for each moment."""

from __future__ import annotations

import pytest

from transcoder.manifests import Thumbnail, thumbnails_vtt
from transcoder.thumbnails import plan_storyboard, sheet_layouts, storyboard_cues


def test_the_storyboard_track_points_into_the_sprite_sheets() -> None:
    board = plan_storyboard(125.0, 1920, 1080, tile_width=160, columns=10, rows=10)
    sheets = sheet_layouts(board, 125)
    cues = storyboard_cues(board, sheets, 125.0)
    assert board.interval_s == 1.0 and board.tile_height == 90 and board.sheets == 2
    assert cues[0] == Thumbnail(start_s=0, end_s=1, sprite="storyboard-1.jpg", x=0, y=0, width=160, height=90)
    assert (cues[11].x, cues[11].y) == (160, 90)
    assert cues[100].sprite == "storyboard-2.jpg" and (cues[100].x, cues[100].y) == (0, 0)
    assert cues[-1].end_s == 125.0
    vtt = thumbnails_vtt(cues[:2])
    assert vtt.startswith("WEBVTT\n")
    assert "00:00:01.000 --> 00:00:02.000\nstoryboard-1.jpg#xywh=160,0,160,90" in vtt


@pytest.mark.parametrize(
    ("tiles", "grid"), [(8, (8, 1)), (1, (1, 1)), (10, (10, 1)), (13, (10, 2)), (100, (10, 10))]
)
def test_a_sheet_is_sized_for_the_tiles_drawn_not_for_a_full_grid(tiles: int, grid: tuple[int, int]) -> None:
    """An 8-second video drew 8 tiles on a 10x10 sheet: 92 % of it black."""
    board = plan_storyboard(float(tiles), 1280, 720)
    [sheet] = sheet_layouts(board, tiles)
    assert (sheet.columns, sheet.rows) == grid
    assert (sheet.width, sheet.height) == (grid[0] * 160, grid[1] * 90)
    assert sheet.columns * sheet.rows - tiles < sheet.columns  # only the last row has empty cells


def test_every_cue_points_inside_its_sheet_and_the_last_one_ends_the_video() -> None:
    board = plan_storyboard(234.5, 1920, 1080)
    sheets = sheet_layouts(board, 234)  # FFmpeg drew one tile fewer than 235 the duration calls for
    by_name = {s.name: s for s in sheets}
    assert [(s.columns, s.rows) for s in sheets] == [(10, 10), (10, 10), (10, 4)]
    cues = storyboard_cues(board, sheets, 234.5)
    assert len(cues) == 234 and cues[-1].end_s == 234.5
    for cue in cues:
        sheet = by_name[cue.sprite]
        assert cue.x + cue.width <= sheet.width and cue.y + cue.height <= sheet.height


def test_no_more_tiles_are_laid_out_than_the_duration_calls_for() -> None:
    board = plan_storyboard(8.0, 1280, 720)
    [sheet] = sheet_layouts(board, 9)  # a rounding fps filter may draw a tile at 8.0 s
    assert sheet.count == 8
    assert storyboard_cues(board, [sheet], 8.0)[-1].start_s == 7.0


def test_a_long_video_gets_at_most_about_300_tiles() -> None:
    assert plan_storyboard(3 * 3600, 1280, 720).frames <= 300


def test_a_vertical_video_gets_tall_tiles_and_a_short_one_one_tile() -> None:
    board = plan_storyboard(0.5, 1080, 1920)
    assert (board.tile_width, board.tile_height, board.frames, board.sheets) == (160, 284, 1, 1)
    [cue] = storyboard_cues(board, sheet_layouts(board, 1), 0.5)
    assert (cue.start_s, cue.end_s) == (0, 0.5)
