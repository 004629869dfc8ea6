from __future__ import annotations

from transcoder.progress import ProgressParser


def test_percent_comes_at_the_end_of_each_block_and_is_clamped() -> None:
    parser = ProgressParser(duration_s=10)
    assert parser.feed("frame=10") is None
    assert parser.feed("out_time_us=2500000") is None
    assert parser.feed("progress=continue") == 25.0
    parser.feed("out_time_us=12000000")  # FFmpeg overshoots the probed duration
    assert parser.feed("progress=continue") == 100.0
    assert parser.feed("progress=end") == 100.0 and parser.finished


def test_progress_never_goes_back_and_ignores_na() -> None:
    parser = ProgressParser(duration_s=4)
    parser.feed("out_time_us=2000000")
    parser.feed("out_time_us=N/A")
    parser.feed("out_time_us=1000000")
    assert parser.feed("progress=continue") == 50.0
