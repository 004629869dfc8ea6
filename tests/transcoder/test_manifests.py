from __future__ import annotations

import m3u8
import pytest

from transcoder.manifests import (
    AudioTrack,
    Thumbnail,
    Variant,
    hls_master_playlist,
    media_playlist_duration_s,
    mpd_codecs,
    set_mpd_codecs,
    thumbnails_vtt,
)


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


def test_only_the_named_representations_get_new_codecs() -> None:
    mpd = (
        '<MPD><Period><AdaptationSet id="0">\n'
        '<Representation id="0" mimeType="video/mp4" codecs="hvc1" bandwidth="300000">\n'
        '<Representation id="1" mimeType="video/mp4" codecs="hvc1" bandwidth="600000">\n'
        '<Representation id="10" mimeType="audio/mp4" codecs="mp4a.40.2">\n'
        "</AdaptationSet></Period></MPD>"
    )
    fixed = set_mpd_codecs(mpd, {"1": "hvc1.1.6.L63.90"})
    assert fixed == mpd.replace(
        'id="1" mimeType="video/mp4" codecs="hvc1"', 'id="1" mimeType="video/mp4" codecs="hvc1.1.6.L63.90"'
    )
    assert set_mpd_codecs(mpd, {}) == mpd


def test_a_media_playlist_says_how_much_media_it_holds() -> None:
    playlist = "#EXTM3U\n#EXTINF:1.000000,\na.m4s\n#EXTINF:0.998458,\nb.m4s\n#EXT-X-ENDLIST\n"
    assert media_playlist_duration_s(playlist) == pytest.approx(1.998458)
    assert media_playlist_duration_s("#EXTM3U\n#EXT-X-ENDLIST\n") == 0.0


def test_vtt_times_go_past_an_hour() -> None:
    cue = Thumbnail(start_s=3599.5, end_s=3661.25, sprite="s.jpg", x=0, y=0, width=160, height=90)
    assert "00:59:59.500 --> 01:01:01.250\ns.jpg#xywh=0,0,160,90" in thumbnails_vtt([cue])
