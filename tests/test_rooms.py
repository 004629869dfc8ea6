"""The house rules of the layout: imports run one way, and every package says what it holds."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Lowest floor first. A module may import its own room and the floors below it, never a floor above
# or a neighbour on its own floor. Stores (views, blobs) know rows and bytes, not events, so the
# writers and view builders stand on them and the readers above.
FLOORS: list[set[str]] = [
    {"schemas"},
    {"topics"},
    {"blobs", "views"},
    {"transcoder"},
    {"producers", "stream_apps"},
    {"query_api"},
    {"deploy"},
]
FLOOR_OF = {room: level for level, rooms in enumerate(FLOORS) for room in rooms}


def _modules() -> list[Path]:
    return sorted(p for room in FLOOR_OF for p in (REPO / room).rglob("*.py"))


def _imported_rooms(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, name.split(".")[0]) for name in names if name.split(".")[0] in FLOOR_OF]
    return found


def test_no_import_runs_upward_or_sideways() -> None:
    wrong = []
    for path in _modules():
        room = path.relative_to(REPO).parts[0]
        for line, other in _imported_rooms(path):
            if other != room and FLOOR_OF[other] >= FLOOR_OF[room]:
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {other}")
    assert not wrong, "\n".join(wrong)


def test_the_floors_hold_every_room() -> None:
    rooms = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests", "benchmarks"}
    assert rooms == set(FLOOR_OF)


def test_every_package_opens_with_a_docstring() -> None:
    missing = [
        str(init.relative_to(REPO))
        for room in FLOOR_OF
        for init in (REPO / room).rglob("__init__.py")
        if not ast.get_docstring(ast.parse(init.read_text()))
    ]
    assert not missing, f"packages without a docstring saying what they hold: {missing}"


def test_no_grab_bag_modules() -> None:
    grab_bags = [p for p in _modules() if p.stem in {"utils", "util", "common", "helpers", "misc"}]
    assert not grab_bags
