"""The capacity plan as arithmetic: a workload and per-core rates in, lines with their reasons out. Pure.

Every figure of the plan names the assumption or the measured rate it rests
on, so an operator can see which to replace with their own. Peak rates are
the daily average times ``peak_factor``; processes are sized to run at
``target_utilization`` of their cores at peak.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from deploy.capacity.rates import Rate

__all__ = ["DEFAULT_LADDER_KBPS", "Line", "Plan", "Workload", "plan_capacity"]

DAY_S = 86_400
GB = 1e9
TB = 1e12
# The H.264 ladder the transcoder plans for a 1080p source (transcoder/ladder.py's H264_KBPS).
DEFAULT_LADDER_KBPS: Mapping[str, int] = {"360p": 800, "480p": 1400, "720p": 2800, "1080p": 5000}


@dataclass(frozen=True, kw_only=True)
class Workload:
    dau: int
    watch_minutes_per_user: float = 40.0
    uploads_per_day: int = 0  # 0: one upload per 1 000 daily users
    upload_minutes: float = 8.0  # average source length
    source_mbps: float = 8.0  # average source bitrate, for upload storage and bandwidth
    events_per_watch_minute: float = 7.0  # a heartbeat every 10 s, plus start/end/seek/quality events
    event_bytes: int = 220  # one playback event on the log: Avro body, header, key, batch overhead
    api_reads_per_watch_minute: float = 1.5  # page, video, stats and related reads per minute watched
    delivered_mbps: float = 2.5  # average bitrate players fetch across the ladder
    peak_factor: float = 3.0  # busiest hour over the daily average
    target_utilization: float = 0.6  # headroom for failover and bursts
    kafka_replication: int = 3
    playback_retention_days: int = (
        7  # raw playback events stay on Kafka this long (hourly archives keep them)
    )
    store_replication: int = 3  # Cassandra replication factor; Elasticsearch primaries + replicas
    session_retire_minutes: float = 15.0  # the analytics worker keeps this much of live sessions' events
    restart_target_s: float = 10.0  # an analytics worker restarts (restores its state) within this
    ladder_kbps: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_LADDER_KBPS))

    @property
    def uploads(self) -> int:
        return self.uploads_per_day or max(1, self.dau // 1000)


@dataclass(frozen=True, kw_only=True)
class Line:
    section: str
    what: str
    value: float
    unit: str
    because: str


@dataclass(frozen=True)
class Plan:
    lines: tuple[Line, ...]

    def value(self, what: str) -> float:
        return next(line.value for line in self.lines if line.what == what)


def plan_capacity(work: Workload, rates: Mapping[str, Rate]) -> Plan:
    lines: list[Line] = []

    def add(section: str, what: str, value: float, unit: str, because: str) -> float:
        lines.append(Line(section=section, what=what, value=value, unit=unit, because=because))
        return value

    def cores(load: float) -> float:
        return load / work.target_utilization

    # Playback events: collector → Kafka → analytics.
    watch_min_day = work.dau * work.watch_minutes_per_user
    events_s = watch_min_day * work.events_per_watch_minute / DAY_S
    peak_events = add(
        "playback",
        "peak playback events/s",
        events_s * work.peak_factor,
        "events/s",
        f"{work.dau:,} users x {work.watch_minutes_per_user:g} min x {work.events_per_watch_minute:g} "
        f"events/min ÷ 86 400 s x peak {work.peak_factor:g}",
    )
    needs: dict[str, float] = {}
    for role, rate in (
        ("collector", "collector_cpu_us_per_event"),
        ("analytics", "analytics_cpu_us_per_event"),
    ):
        needs[role] = add(
            "playback",
            f"{role} cores",
            cores(peak_events * rates[rate].value / 1e6),
            "cores",
            f"{rates[rate].value:g} µs/event ({rates[rate].source}) at {work.target_utilization:.0%}",
        )
    add("playback", "collector processes", math.ceil(needs["collector"]), "processes", "one core each")
    # The analytics workers' state is bounded by the sessions still live, not by history; a restarted
    # worker loads its share of it from a snapshot, so enough workers keep that share small.
    live_events = peak_events * work.session_retire_minutes * 60
    state = rates["analytics_state_bytes_per_event"]
    add(
        "playback",
        "analytics live state",
        live_events * state.value / GB,
        "GB",
        f"{work.session_retire_minutes:g} min of peak events live (idle sessions are retired after it) x "
        f"{state.value:g} B a live event ({state.source}); flat however long it runs",
    )
    restore = rates["analytics_restore_events_per_s"]
    by_restart = add(
        "playback",
        "analytics processes for restarts",
        math.ceil(live_events / (restore.value * work.restart_target_s)),
        "processes",
        f"each worker's share of the live state restored within {work.restart_target_s:g} s at "
        f"{restore.value:,.0f} live events/s ({restore.source})",
    )
    analytics = max(math.ceil(needs["analytics"]), int(by_restart))
    add(
        "playback",
        "analytics processes",
        analytics,
        "processes",
        "one core each, enough for the CPU and for restarts; more share the partitions",
    )

    # Kafka.
    broker_cores = cores(peak_events * rates["broker_cpu_us_per_event"].value / 1e6)
    ingress = peak_events * work.event_bytes
    add("kafka", "peak ingress", ingress / 1e6, "MB/s", f"{work.event_bytes} B per event on the log")
    add(
        "kafka",
        "brokers",
        max(3, math.ceil(broker_cores / 4)),
        "brokers",
        f"{broker_cores:.1f} cores of broker CPU ({rates['broker_cpu_us_per_event'].source}), "
        f"4 cores a broker, at least 3 for replication {work.kafka_replication}",
    )
    add(
        "kafka",
        "playback-event partitions",
        max(12, 2 ** math.ceil(math.log2(max(1, 2 * analytics)))),
        "partitions",
        "twice the analytics processes, rounded up to a power of two (room to add workers)",
    )
    add(
        "kafka",
        "playback log storage",
        ingress / work.peak_factor * DAY_S * work.playback_retention_days * work.kafka_replication / TB,
        "TB",
        f"{work.playback_retention_days} days of raw events x replication {work.kafka_replication}",
    )

    # Transcoding and storage.
    source_s_day = work.uploads * work.upload_minutes * 60
    transcode_rate = rates["transcode_cpu_s_per_source_s"]
    need = add(
        "transcode",
        "transcoder cores",
        cores(source_s_day * transcode_rate.value / DAY_S * 2),
        "cores",
        f"{work.uploads:,} uploads x {work.upload_minutes:g} min; {transcode_rate.value:g} CPU-s per source "
        f"second for the H.264 ladder ({transcode_rate.source}); uploads peak at 2x their average",
    )
    add("transcode", "transcoder processes", math.ceil(need / 4), "processes", "4 cores each (x264 threads)")
    for name, kbps in work.ladder_kbps.items():
        add(
            "storage",
            f"{name} per day",
            source_s_day * kbps * 1000 / 8 / GB,
            "GB",
            f"{kbps} kb/s x {source_s_day / 3600:,.0f} source hours a day",
        )
    add(
        "storage",
        "sources per day",
        source_s_day * work.source_mbps * 1e6 / 8 / GB,
        "GB",
        f"originals kept at {work.source_mbps:g} Mb/s",
    )

    # Read side.
    reads = watch_min_day * work.api_reads_per_watch_minute / DAY_S * work.peak_factor
    add(
        "api",
        "peak API reads/s",
        reads,
        "requests/s",
        f"{work.api_reads_per_watch_minute:g} reads per minute watched",
    )
    api_rate = rates["api_reads_per_core_s"]
    add(
        "api",
        "API cores",
        cores(reads / api_rate.value),
        "cores",
        f"{api_rate.value:g} reads/s a core ({api_rate.source})",
    )
    upload_rate = rates["upload_mib_per_core_s"]
    upload_mib_s = source_s_day * work.source_mbps * 1e6 / 8 / 2**20 / DAY_S * 2
    add(
        "uploads",
        "peak upload bandwidth",
        upload_mib_s,
        "MiB/s",
        "sources at 2x their average rate; parts go straight to S3, the service only signs and probes",
    )
    add(
        "uploads",
        "upload service cores (local store only)",
        cores(upload_mib_s / upload_rate.value),
        "cores",
        f"{upload_rate.value:g} MiB/s a core when bytes pass through ({upload_rate.source})",
    )

    # Stores and delivery.
    minute_rows = watch_min_day * 40 * work.store_replication / GB
    add(
        "stores",
        "Cassandra playback growth per day",
        minute_rows,
        "GB",
        f"about 40 B per minute watched (a viewer pseudonym in a minute row) x RF {work.store_replication}",
    )
    add(
        "stores",
        "Elasticsearch growth per day",
        work.uploads * 4000 * work.store_replication / GB,
        "GB",
        f"about 4 kB per video document indexed, x {work.store_replication} copies",
    )
    egress_day = watch_min_day * 60 * work.delivered_mbps * 1e6 / 8
    add("cdn", "egress per day", egress_day / TB, "TB", f"{work.delivered_mbps:g} Mb/s delivered on average")
    add(
        "cdn",
        "peak egress",
        egress_day * 8 / DAY_S * work.peak_factor / 1e9,
        "Gb/s",
        f"daily average x peak {work.peak_factor:g}",
    )
    return Plan(tuple(lines))
