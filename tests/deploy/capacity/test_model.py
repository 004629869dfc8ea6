"""The capacity plan's arithmetic, checked by hand on round numbers."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from deploy.capacity.model import Workload, plan_capacity
from deploy.capacity.rates import Rate, load_rates, record_rate
from deploy.cli.estimate import parse_count

RATES = {
    "collector_cpu_us_per_event": Rate(value=10.0, source="t"),
    "analytics_cpu_us_per_event": Rate(value=20.0, source="t"),
    "broker_cpu_us_per_event": Rate(value=5.0, source="t"),
    "transcode_cpu_s_per_source_s": Rate(value=2.0, source="t"),
    "api_reads_per_core_s": Rate(value=1000.0, source="t"),
    "upload_mib_per_core_s": Rate(value=100.0, source="t"),
    "analytics_state_bytes_per_event": Rate(value=1000.0, source="t"),
    "analytics_restore_events_per_s": Rate(value=1000.0, source="t"),
}
# 86 400 users watching 10 minutes at 6 events a minute: 60 events/s on average, 120 at peak 2.
WORK = Workload(
    dau=86_400,
    watch_minutes_per_user=10,
    events_per_watch_minute=6,
    peak_factor=2,
    target_utilization=0.5,
    uploads_per_day=72,
    upload_minutes=10,
    source_mbps=8,
    api_reads_per_watch_minute=1,
    delivered_mbps=2,
    event_bytes=200,
    ladder_kbps={"360p": 800, "720p": 2800},
)


def test_playback_sizing_follows_events_and_cpu_per_event() -> None:
    plan = plan_capacity(WORK, RATES)
    assert plan.value("peak playback events/s") == pytest.approx(120)
    assert plan.value("collector cores") == pytest.approx(120 * 10e-6 / 0.5)
    assert plan.value("analytics cores") == pytest.approx(120 * 20e-6 / 0.5)
    assert plan.value("collector processes") == 1
    assert plan.value("peak ingress") == pytest.approx(120 * 200 / 1e6)
    assert plan.value("brokers") == 3  # the replication floor, far above the CPU need
    assert plan.value("playback-event partitions") == 32  # from the analytics workers, below
    # 60 events/s x 200 B x 86 400 s x 7 days x 3 copies
    assert plan.value("playback log storage") == pytest.approx(60 * 200 * 86_400 * 7 * 3 / 1e12)


def test_analytics_workers_are_enough_for_the_cpu_and_to_restore_their_share_of_live_state() -> None:
    plan = plan_capacity(WORK, RATES)
    live_events = 120 * 15 * 60  # 15 min of peak events are live: 108 000
    assert plan.value("analytics live state") == pytest.approx(live_events * 1000 / 1e9)
    # 108 000 live events at 1 000 a second take 108 s to restore: 11 workers bring a share under 10 s
    assert plan.value("analytics processes for restarts") == 11
    assert plan.value("analytics processes") == 11  # the CPU needs less than one
    assert plan.value("playback-event partitions") == 32  # twice the workers, a power of two

    roomy = {**RATES, "analytics_restore_events_per_s": Rate(value=1e9, source="t")}
    busy = {**roomy, "analytics_cpu_us_per_event": Rate(value=20_000.0, source="t")}
    assert plan_capacity(WORK, roomy).value("analytics processes") == 1
    assert plan_capacity(WORK, busy).value("analytics processes") == math.ceil(120 * 20_000e-6 / 0.5)
    patient = dataclasses.replace(WORK, restart_target_s=120.0, session_retire_minutes=5.0)
    assert plan_capacity(patient, RATES).value("analytics processes for restarts") == 1  # 36 000 in 36 s


def test_transcoding_and_storage_follow_source_hours() -> None:
    plan = plan_capacity(WORK, RATES)
    source_s = 72 * 10 * 60  # 12 source hours a day
    assert plan.value("transcoder cores") == pytest.approx(source_s * 2.0 / 86_400 * 2 / 0.5)
    assert plan.value("transcoder processes") == math.ceil(plan.value("transcoder cores") / 4)
    assert plan.value("360p per day") == pytest.approx(source_s * 800_000 / 8 / 1e9)
    assert plan.value("720p per day") == pytest.approx(source_s * 2_800_000 / 8 / 1e9)
    assert plan.value("sources per day") == pytest.approx(source_s * 8e6 / 8 / 1e9)


def test_reads_and_egress_follow_minutes_watched() -> None:
    plan = plan_capacity(WORK, RATES)
    assert plan.value("peak API reads/s") == pytest.approx(864_000 / 86_400 * 2)
    assert plan.value("API cores") == pytest.approx(20 / 1000 / 0.5)
    egress = 864_000 * 60 * 2e6 / 8
    assert plan.value("egress per day") == pytest.approx(egress / 1e12)
    assert plan.value("peak egress") == pytest.approx(egress * 8 / 86_400 * 2 / 1e9)


def test_every_line_says_what_it_rests_on() -> None:
    assert all(line.because for line in plan_capacity(Workload(dau=10_000_000), load_rates()).lines)


def test_uploads_default_to_one_per_thousand_users() -> None:
    assert Workload(dau=10_000_000).uploads == 10_000


def test_benchmarks_record_rates_that_override_the_shipped_ones(tmp_path: Path) -> None:
    recorded = tmp_path / "rates.json"
    shipped = load_rates(recorded)
    record_rate(recorded, "broker_cpu_us_per_event", 3.25, "python benchmarks/playback.py, today")
    record_rate(recorded, "collector_cpu_us_per_event", 12.5, "python benchmarks/playback.py, today")
    rates = load_rates(recorded)
    assert rates["broker_cpu_us_per_event"] == Rate(value=3.25, source="python benchmarks/playback.py, today")
    assert rates["collector_cpu_us_per_event"].value == 12.5
    assert rates["api_reads_per_core_s"] == shipped["api_reads_per_core_s"]
    recorded.write_text(json.dumps({"api_reads_per_core_s": {"value": -1}}))
    with pytest.raises(ValueError, match="api_reads_per_core_s"):
        load_rates(recorded)


@pytest.mark.parametrize(
    ("raw", "count"), [("10M", 10_000_000), ("250k", 250_000), ("1.5B", 1_500_000_000), ("1,200", 1200)]
)
def test_counts_read_as_people_write_them(raw: str, count: int) -> None:
    assert parse_count(raw) == count
