from __future__ import annotations

import pytest

from schemas.transcode_requested import VideoCodec
from transcoder.ladder import LadderConfig, plan_ladder
from transcoder.probe import ProbedSource


def source(width: int, height: int, fps: float = 30.0) -> ProbedSource:
    return ProbedSource(
        duration_s=10,
        width=width,
        height=height,
        frame_rate=fps,
        pix_fmt="yuv420p",
        has_audio=True,
        video_codec="h264",
    )


def sizes(width: int, height: int, **config: object) -> list[tuple[str, int, int]]:
    return [(r.name, r.width, r.height) for r in plan_ladder(source(width, height), LadderConfig(**config))]  # type: ignore[arg-type]


def test_a_1080p_source_gets_every_rung_up_to_its_size_and_never_more() -> None:
    assert sizes(1920, 1080) == [
        ("360p", 640, 360),
        ("480p", 854, 480),
        ("720p", 1280, 720),
        ("1080p", 1920, 1080),
    ]


def test_a_4k_source_gets_1440p_and_2160p_and_max_height_caps_it() -> None:
    assert [n for n, _, _ in sizes(3840, 2160)] == ["360p", "480p", "720p", "1080p", "1440p", "2160p"]
    assert [n for n, _, _ in sizes(3840, 2160, max_height=1080)][-1] == "1080p"


def test_a_vertical_video_is_laddered_on_its_short_side() -> None:
    assert sizes(1080, 1920)[-1] == ("1080p", 1080, 1920)
    assert sizes(1080, 1920)[0] == ("360p", 360, 640)


def test_odd_sizes_give_even_dimensions_and_keep_the_ratio() -> None:
    for name, width, height in sizes(1278, 718):
        assert width % 2 == 0 and height % 2 == 0, name
        assert abs(width / height - 1278 / 718) < 0.01, name
    assert [n for n, _, _ in sizes(1278, 718)] == ["360p", "480p", "718p"]  # no 720p upscale: its own size


def test_a_tiny_source_gets_one_rendition_at_its_own_size() -> None:
    assert sizes(320, 181) == [("180p", 320, 180)]


def test_frame_rate_is_capped_by_halving_and_raises_the_bitrate() -> None:
    high = plan_ladder(source(1280, 720, fps=120), LadderConfig())
    assert {r.frame_rate for r in high} == {60.0}
    normal = plan_ladder(source(1280, 720, fps=30), LadderConfig())
    assert high[-1].bitrate_kbps > normal[-1].bitrate_kbps
    assert plan_ladder(source(1280, 720, fps=50), LadderConfig())[0].frame_rate == 50.0


def test_efficient_codecs_get_fewer_bits_and_their_own_names() -> None:
    ladder = plan_ladder(source(1280, 720), LadderConfig(codecs=(VideoCodec.H264, VideoCodec.AV1)))
    by_name = {r.name: r for r in ladder}
    assert set(by_name) == {"360p-h264", "480p-h264", "720p-h264", "360p-av1", "480p-av1", "720p-av1"}
    assert by_name["720p-av1"].bitrate_kbps < by_name["720p-h264"].bitrate_kbps


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1080, 1920), (1278, 718), (3840, 1600)])
def test_no_rung_is_larger_than_the_source(width: int, height: int) -> None:
    for rung in plan_ladder(source(width, height)):
        assert rung.width <= width and rung.height <= height


@pytest.mark.parametrize(
    ("width", "height", "top"),
    [
        (854, 478, ("478p", 854, 478)),  # 360p alone kept 57 % of its lines
        (1278, 718, ("718p", 1278, 718)),
        (1920, 1040, ("1040p", 1920, 1040)),  # a cropped 1080p film
        (479, 853, ("478p", 478, 852)),  # vertical, odd: even dimensions
    ],
)
def test_a_source_just_under_a_rung_keeps_a_rendition_at_its_own_size(
    width: int, height: int, top: tuple[str, int, int]
) -> None:
    ladder = sizes(width, height)
    assert ladder[-1] == top
    assert ladder[0][0] == "360p"  # the rungs below stay
    for _, w, h in ladder:
        assert w <= width and h <= height and w % 2 == 0 and h % 2 == 0


@pytest.mark.parametrize(
    ("width", "height"), [(1920, 1080), (853, 481), (380, 640), (640, 360), (3840, 2160)]
)
def test_a_source_a_rung_already_keeps_gets_no_extra_rendition(width: int, height: int) -> None:
    """1080p is 1080p; 481 lines are kept by 480p; 380 by 360p."""
    ladder = sizes(width, height)
    assert len({h for _, _, h in ladder}) == len(ladder)
    assert all(
        name.rstrip("p").isdigit() and int(name[:-1]) in (360, 480, 720, 1080, 1440, 2160)
        for name, _, _ in ladder
    )


def test_max_height_still_caps_and_no_own_size_rung_is_added_above_it() -> None:
    assert sizes(854, 478, max_height=360) == [("360p", 644, 360)]
    assert [n for n, _, _ in sizes(2560, 1400, max_height=1080)][-1] == "1080p"


def test_an_own_size_rung_gets_a_bitrate_between_its_neighbours() -> None:
    ladder = {r.name: r.bitrate_kbps for r in plan_ladder(source(1278, 718), LadderConfig())}
    assert ladder["480p"] < ladder["718p"] <= 2800
