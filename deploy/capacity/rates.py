"""Where the planner's per-core rates come from: the shipped defaults, then what benchmarks recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["Rate", "load_rates", "record_rate"]


@dataclass(frozen=True, kw_only=True)
class Rate:
    value: float
    source: str  # the benchmark command and the doc that reports it


def load_rates(recorded: Path | None = None) -> dict[str, Rate]:
    """The shipped rates (deploy/capacity_rates.json), overridden by those recorded in ``recorded``."""
    shipped = json.loads(resources.files("deploy").joinpath("capacity_rates.json").read_text())
    rates = {name: _rate(name, doc) for name, doc in shipped.items() if not name.startswith("_")}
    if recorded is not None and recorded.is_file():
        for name, doc in json.loads(recorded.read_text()).items():
            if name in rates:
                rates[name] = _rate(name, doc)
    return rates


def record_rate(path: Path, name: str, value: float, source: str) -> None:
    """What a benchmark measured, for the next ``tubestream estimate`` on this machine."""
    doc: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    doc[name] = {"value": value, "source": source}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def _rate(name: str, doc: Any) -> Rate:
    try:
        value = float(doc["value"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"capacity rate {name!r}: expected {{'value': number, 'source': text}}") from None
    if value <= 0:
        raise ValueError(f"capacity rate {name!r} must be positive, got {value}")
    return Rate(value=value, source=str(doc.get("source", "")))
