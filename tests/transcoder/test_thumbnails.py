"""Storyboard layout and cues: which tile of which sprite sheet a player shows for each moment."""

from __future__ import annotations

from transcoder.manifests import Thumbnail, thumbnails_vtt
from transcoder.thumbnails import plan_storyboard, storyboard_cues


def test_the_storyboard_track_points_into_the_sprite_sheets() -> None:
    board = plan_storyboard(125.0, 1920, 1080, tile_width=160, columns=10, rows=10)
    cues = storyboard_cues(board, 125.0)
    assert board.interval_s == 1.0 and board.tile_height == 90 and board.sheets == 2
    assert cues[0] == Thumbnail(start_s=0, end_s=1, sprite="storyboard-1.jpg", x=0, y=0, width=160, height=90)
    assert (cues[11].x, cues[11].y) == (160, 90)
    assert cues[100].sprite == "storyboard-2.jpg" and (cues[100].x, cues[100].y) == (0, 0)
    assert cues[-1].end_s == 125.0
    vtt = thumbnails_vtt(cues[:2])
    assert vtt.startswith("WEBVTT\n")
    assert "00:00:01.000 --> 00:00:02.000\nstoryboard-1.jpg#xywh=160,0,160,90" in vtt


def test_a_long_video_gets_at_most_about_300_tiles() -> None:
    assert plan_storyboard(3 * 3600, 1280, 720).frames <= 300


def test_a_vertical_video_gets_tall_tiles_and_a_short_one_one_tile() -> None:
    board = plan_storyboard(0.5, 1080, 1920)
    assert (board.tile_width, board.tile_height, board.frames, board.sheets) == (160, 284, 1, 1)
    [cue] = storyboard_cues(board, 0.5)
    assert (cue.start_s, cue.end_s) == (0, 0.5)
