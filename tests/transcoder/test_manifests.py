from __future__ import annotations

import xml.etree.ElementTree as ET

import m3u8
import pytest

from transcoder.manifests import (
    AudioTrack,
    Thumbnail,
    Variant,
    fold_mpd_tail,
    fold_short_tail,
    hls_master_playlist,
    media_playlist_duration_s,
    media_segments,
    merge_mpd,
    mpd_codecs,
    mpd_max_segment_s,
    renumber_playlist,
    segment_bitrates,
    set_mpd_bandwidths,
    set_mpd_codecs,
    set_mpd_max_segment,
    tail_threshold_s,
    thumbnails_vtt,
    without_bitstream_switching,
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


AUDIO_8S = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-MAP:URI="init-1.m4s"
#EXTINF:3.993832,
#EXT-X-PROGRAM-DATE-TIME:2026-12-03T02:07:57.000+0000
seg-1-00001.m4s
#EXTINF:3.993832,
#EXT-X-PROGRAM-DATE-TIME:2026-12-03T02:08:00.994+0000
seg-1-00002.m4s
#EXTINF:0.023220,
#EXT-X-PROGRAM-DATE-TIME:2026-12-03T02:08:04.988+0000
seg-1-00003.m4s
#EXT-X-ENDLIST
"""


def test_a_one_frame_last_segment_is_folded_into_the_one_before() -> None:
    """What FFmpeg wrote for the audio of an 8 s source: hls.js stalled 40 ms before the end."""
    folded = fold_short_tail(AUDIO_8S, min_tail_s=tail_threshold_s(4.0))
    assert folded is not None
    assert (folded.tail, folded.into) == ("seg-1-00003.m4s", "seg-1-00002.m4s")
    segments = media_segments(folded.playlist)
    assert [s.uri for s in segments] == ["seg-1-00001.m4s", "seg-1-00002.m4s"]
    assert segments[-1].duration_s == pytest.approx(3.993832 + 0.023220)
    assert media_playlist_duration_s(folded.playlist) == pytest.approx(media_playlist_duration_s(AUDIO_8S))
    parsed = m3u8.loads(folded.playlist)
    assert parsed.is_endlist and parsed.target_duration == 4 and len(parsed.segments) == 2


def test_a_long_enough_tail_or_a_single_segment_is_left_alone() -> None:
    tail = AUDIO_8S.replace("#EXTINF:0.023220,", "#EXTINF:1.500000,")
    assert fold_short_tail(tail, min_tail_s=0.5) is None
    single = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:0.040000,\na.m4s\n#EXT-X-ENDLIST\n"
    assert fold_short_tail(single, min_tail_s=0.5) is None


def test_a_folded_segment_never_outgrows_the_target_duration() -> None:
    for segment_s in (1.0, 2.0, 4.0, 6.0):
        assert round(segment_s + tail_threshold_s(segment_s) - 0.001) <= segment_s
    folded = fold_short_tail(
        "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.000000,\na.m4s\n#EXTINF:0.600000,\nb.m4s\n",
        min_tail_s=0.7,
    )
    assert folded is not None and "#EXT-X-TARGETDURATION:2" in folded.playlist  # 1.6 rounds to 2


MPD = """<MPD maxSegmentDuration="PT4.0S"><Period>
\t<AdaptationSet id="0" contentType="video" segmentAlignment="true" bitstreamSwitching="true">
\t\t<Representation id="0" mimeType="video/mp4" codecs="avc1.64001e" bandwidth="800000" width="640">
\t\t\t<SegmentTemplate timescale="12800" startNumber="1">
\t\t\t\t<SegmentTimeline>
\t\t\t\t\t<S t="0" d="51200" r="1" />
\t\t\t\t\t<S d="512" />
\t\t\t\t</SegmentTimeline>
\t\t\t</SegmentTemplate>
\t\t</Representation>
\t</AdaptationSet>
\t<AdaptationSet id="1" contentType="audio" bitstreamSwitching="true">
\t\t<Representation id="1" mimeType="audio/mp4" codecs="mp4a.40.2" bandwidth="128000">
\t\t\t<SegmentTemplate timescale="44100" startNumber="1">
\t\t\t\t<SegmentTimeline>
\t\t\t\t\t<S t="0" d="176128" />
\t\t\t\t\t<S d="177152" />
\t\t\t\t</SegmentTimeline>
\t\t\t</SegmentTemplate>
\t\t</Representation>
\t</AdaptationSet>
</Period></MPD>"""


def test_the_mpd_timeline_folds_the_same_tail() -> None:
    folded = fold_mpd_tail(MPD, "0")
    assert '<S t="0" d="51200" />' in folded and '<S d="51712" />' in folded and ' r="1"' not in folded
    assert folded.split('<AdaptationSet id="1"')[1] == MPD.split('<AdaptationSet id="1"')[1]
    assert mpd_max_segment_s(folded) == pytest.approx(51712 / 12800)
    assert 'maxSegmentDuration="PT4.040S"' in set_mpd_max_segment(folded, mpd_max_segment_s(folded))
    ET.fromstring(folded)  # still XML


def test_no_adaptation_set_claims_bitstream_switching() -> None:
    """Each representation has its own init segment: a player that believed the claim would decode
    1080p segments with 360p's decoder configuration."""
    fixed = without_bitstream_switching(MPD)
    assert "bitstreamSwitching" not in fixed
    assert fixed.count("<AdaptationSet") == 2 and 'segmentAlignment="true"' in fixed


def test_measured_bandwidths_replace_the_nominal_ones() -> None:
    fixed = set_mpd_bandwidths(MPD, {"0": 5_123_456, "1": 131_072})
    assert 'bandwidth="5123456"' in fixed and 'bandwidth="131072"' in fixed
    assert 'bandwidth="800000"' not in fixed


def test_bitrates_are_measured_over_real_segment_durations() -> None:
    """A 1 s 1080p clip's one segment holds 1 s of media: 640 kB is 5.1 Mbps, not 1.3 over 4 s."""
    assert segment_bitrates([(1.0, 640_000)], target_duration_s=1.0) == (5_120_000, 5_120_000)
    assert segment_bitrates([(1.0, 640_000)], target_duration_s=4.0) == (5_120_000, 5_120_000)


def test_the_peak_is_the_busiest_run_of_half_to_one_and_a_half_target_durations() -> None:
    segments = [(4.0, 400_000), (4.0, 1_600_000), (4.0, 400_000), (0.1, 200_000)]
    peak, average = segment_bitrates(segments, target_duration_s=4.0)
    assert peak == 3_200_000  # the second segment; the 0.1 s tail alone is too short to count
    assert average == round(2_600_000 * 8 / 12.1)
    assert segment_bitrates([], target_duration_s=4.0) == (0, 0)


def test_a_later_parts_playlist_is_renamed_to_its_new_stream_number() -> None:
    playlist = (
        '#EXTM3U\n#EXT-X-MAP:URI="init-0.m4s"\n#EXTINF:4.0,\nseg-0-00001.m4s\n#EXTINF:4.0,\nseg-0-00002.m4s\n'
    )
    renamed = renumber_playlist(playlist, 0, 2)
    assert renamed == playlist.replace("init-0", "init-2").replace("seg-0-", "seg-2-")
    assert renumber_playlist("seg-10-00001.m4s\n", 1, 3) == "seg-10-00001.m4s\n"  # 10 is not 1


def test_a_later_parts_representations_join_the_adaptation_set_of_their_codec() -> None:
    later = """<MPD><Period>
\t\t<AdaptationSet id="0" contentType="video" maxWidth="1920" maxHeight="1080">
\t\t\t<Representation id="0" codecs="avc1.640028" bandwidth="5000000" width="1920"><S d="1"/></Representation>
\t\t</AdaptationSet>
\t\t<AdaptationSet id="1" contentType="video" maxWidth="1920" maxHeight="1080">
\t\t\t<Representation id="1" codecs="vp09.00.40.08" width="1920"><S d="1"/></Representation>
\t\t</AdaptationSet>
\t</Period></MPD>"""
    merged = merge_mpd(without_bitstream_switching(MPD), later, {"0": "2", "1": "3"})
    root = ET.fromstring(merged)
    sets = root.findall("./Period/AdaptationSet")
    assert [s.get("id") for s in sets] == ["0", "1", "2"]  # the VP9 one is new
    assert [r.get("id") for r in sets[0].findall("Representation")] == ["0", "2"]
    assert [r.get("id") for r in sets[2].findall("Representation")] == ["3"]
    assert sets[0].get("maxHeight") is None or int(sets[0].get("maxHeight", "0")) >= 1080
    assert [r.get("id") for r in sets[1].findall("Representation")] == ["1"]  # audio untouched
