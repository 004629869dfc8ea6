"""``tubestream estimate``: a capacity plan for an audience, from the project's measured per-core rates."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re

from deploy.capacity.model import Workload, plan_capacity
from deploy.capacity.rates import load_rates
from deploy.cli.parsing import Subparsers
from deploy.settings import Settings

__all__ = ["parse_count", "register"]

_COUNT = re.compile(r"(?P<n>[0-9]+(?:\.[0-9]+)?)(?P<unit>[kKmMbB]?)")
_UNITS = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}


def parse_count(raw: str) -> int:
    """``10M``, ``250k``, ``1.5B`` or a plain number."""
    match = _COUNT.fullmatch(raw.strip().replace("_", "").replace(",", ""))
    if match is None:
        raise argparse.ArgumentTypeError(f"expected a count like 10M, 250k or 1200, got {raw!r}")
    return round(float(match["n"]) * _UNITS[match["unit"].lower()])


def _positive(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {raw!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {raw!r}")
    return value


def register(sub: Subparsers) -> None:
    estimate = sub.add_parser("estimate", help="size the platform for an audience")
    estimate.add_argument("--dau", type=parse_count, required=True, help="daily active users, e.g. 10M")
    estimate.add_argument("--watch-minutes-per-user", type=_positive, default=40.0)
    estimate.add_argument("--uploads-per-day", type=parse_count, default=0, help="default: 1 per 1 000 users")
    estimate.add_argument("--upload-minutes", type=_positive, default=8.0, help="average source length")
    estimate.add_argument("--peak-factor", type=_positive, default=3.0, help="busiest hour over the average")
    estimate.add_argument("--delivered-mbps", type=_positive, default=2.5, help="average bitrate watched")
    estimate.add_argument("--json", action="store_true", help="the plan and its rates as JSON")
    estimate.set_defaults(handler=_estimate)


def _estimate(args: argparse.Namespace, settings: Settings) -> int:
    rates = load_rates(settings.home / "capacity" / "rates.json")
    work = Workload(
        dau=args.dau,
        watch_minutes_per_user=args.watch_minutes_per_user,
        uploads_per_day=args.uploads_per_day,
        upload_minutes=args.upload_minutes,
        peak_factor=args.peak_factor,
        delivered_mbps=args.delivered_mbps,
    )
    plan = plan_capacity(work, rates)
    if args.json:
        doc = {
            "workload": {**dataclasses.asdict(work), "uploads_per_day": work.uploads},
            "plan": [dataclasses.asdict(line) for line in plan.lines],
            "rates": {name: dataclasses.asdict(rate) for name, rate in rates.items()},
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    section = ""
    for line in plan.lines:
        if line.section != section:
            section = line.section
            print(f"\n{section}")
        print(f"  {line.what:<42} {line.value:>14,.1f} {line.unit:<11} {line.because}")
    print("\nrates (per core, measured):")
    for name, rate in rates.items():
        print(f"  {name:<34} {rate.value:>10g}  {rate.source}")
    return 0
