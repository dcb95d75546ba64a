"""Check that .ci/oldest.txt pins exactly the floors that pyproject.toml declares.

Usage: python .ci/check_floors.py OLDEST_PYTHON_VERSION (e.g. 3.10.13)

pyproject.toml's ``requires-python``, runtime dependencies and ``test`` extra
declare the oldest supported versions (``name>=X``); the first block of
.ci/oldest.txt must pin each at exactly ``X``, no more and no fewer packages,
and the oldest Python CI runs must be the ``requires-python`` floor. Run by
.ci/run with Python >= 3.11 (tomllib).
"""

import re
import sys
from pathlib import Path

import tomllib  # Python >= 3.11

ROOT = Path(__file__).resolve().parent.parent
FLOORS_HEADER = "# The floors of pyproject.toml."


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def version_tuple(version, length=4):
    parts = [int(p) for p in version.split(".")]
    return tuple(parts + [0] * (length - len(parts)))


def declared_floors(project):
    floors = {}
    for requirement in (
        project["dependencies"] + project["optional-dependencies"]["test"]
    ):
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)", requirement)
        if not match:
            sys.exit(
                f"pyproject.toml: no plain 'name>=version' floor in {requirement!r}"
            )
        floors[normalize(match[1])] = match[2]
    return floors


def pinned_floors(text):
    lines = text.splitlines()
    if FLOORS_HEADER not in lines:
        sys.exit(f".ci/oldest.txt: no line {FLOORS_HEADER!r}")
    pins = {}
    for line in lines[lines.index(FLOORS_HEADER) + 1 :]:
        if not line.strip():
            break
        name, _, version = line.partition("==")
        pins[normalize(name)] = version.strip()
    return pins


def main():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = declared_floors(project)
    pins = pinned_floors((ROOT / ".ci" / "oldest.txt").read_text())
    errors = []
    for name in sorted(set(floors) | set(pins)):
        if name not in pins:
            errors.append(f"{name}>={floors[name]} is not pinned in .ci/oldest.txt")
        elif name not in floors:
            errors.append(f"{name}=={pins[name]} is pinned but not a floor")
        elif version_tuple(floors[name]) != version_tuple(pins[name]):
            errors.append(
                f"{name}: pyproject says >={floors[name]}, pinned {pins[name]}"
            )
    python_floor = re.fullmatch(r">=\s*([0-9.]+)", project["requires-python"])[1]
    oldest_python = sys.argv[1]
    if version_tuple(oldest_python)[:2] != version_tuple(python_floor)[:2]:
        errors.append(
            f"requires-python is >={python_floor} but CI's oldest Python is "
            f"{oldest_python}"
        )
    if errors:
        sys.exit(
            "pyproject.toml and .ci/oldest.txt disagree:\n  " + "\n  ".join(errors)
        )
    print(
        f"oldest.txt pins pyproject.toml's {len(floors)} floors; Python {oldest_python}"
    )


if __name__ == "__main__":
    main()
