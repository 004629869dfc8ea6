from __future__ import annotations

import m3u8

from transcoder.manifests import (
    AudioTrack,
    Thumbnail,
    Variant,
    hls_master_playlist,
    mpd_codecs,
    thumbnails_vtt,
)
from transcoder.thumbnails import plan_storyboard, storyboard_cues


def test_the_master_playlist_has_every_attribute_a_player_uses() -> None:
    text = hls_master_playlist(
        [
            Variant(uri="media_1.m3u8", peak_bps=2_000_000, average_bps=1_500_000, width=1280, height=720,
                    codecs="avc1.64001f", frame_rate=29.97),
            Variant(uri="media_0.m3u8", peak_bps=900_000, average_bps=700_000, width=640, height=360,
                    codecs="avc1.64001e", frame_rate=29.97),
        ],
        AudioTrack(uri="media_2.m3u8", codecs="mp4a.40.2", peak_bps=128_000),
    )  # fmt: skip
    playlist = m3u8.loads(text)
    assert playlist.is_variant
    first, second = playlist.playlists
    assert first.uri == "media_0.m3u8"  # lowest bandwidth first
    info = second.stream_info
    assert info.bandwidth == 2_128_000 and info.average_bandwidth == 1_628_000
    assert info.resolution == (1280, 720)
    assert info.codecs == "avc1.64001f,mp4a.40.2"
    assert info.frame_rate == 29.97
    assert info.audio == "audio"
    [audio] = playlist.media
    assert (audio.type, audio.group_id, audio.uri) == ("AUDIO", "audio", "media_2.m3u8")


def test_codecs_are_read_from_the_mpd() -> None:
    mpd = """<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period>
      <AdaptationSet id="0"><Representation id="0" codecs="avc1.64001e"/><Representation id="1" codecs="vp09.00.21.08"/></AdaptationSet>
      <AdaptationSet id="1" codecs="mp4a.40.2"><Representation id="2"/></AdaptationSet></Period></MPD>"""  # noqa: E501
    assert mpd_codecs(mpd) == {"0": "avc1.64001e", "1": "vp09.00.21.08", "2": "mp4a.40.2"}


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
