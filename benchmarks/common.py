"""What the benchmark scripts share: a throw-away copy of the project."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).parents[1]


def copy_project(destination: Path, data: tuple[str, ...] = ()) -> Path:
    """Copies code and configuration (not `conf/local`, not runs) to `destination`.

    Args:
        destination: A folder that does not exist yet.
        data: Files under the project root to bring along (e.g. ingested data).
    """
    destination.mkdir(parents=True)
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy2(ROOT / name, destination / name)
    skip = shutil.ignore_patterns("local", "__pycache__", "*.egg-info")
    for folder in ("conf", "src"):
        shutil.copytree(ROOT / folder, destination / folder, ignore=skip)
    (destination / "conf/local").mkdir()
    for name in data:
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination / name)
    return destination
