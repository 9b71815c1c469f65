"""A throw-away copy of the project for tests that `kedro run` it."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns("local", "__pycache__", "*.egg-info",
                              ".ipynb_checkpoints")


def copy_project(destination: Path, files: tuple[str, ...] = (),
                 folders: tuple[str, ...] = (), data_layers: bool = False) -> Path:
    """Copies the code and configuration (never `conf/local`, runs or data) to
    `destination`, which must not exist yet, with an empty `conf/local`.

    Args:
        files, folders: More of the project to bring (`dvc.yaml`, `notebooks`).
        data_layers: Also create the empty `data/<layer>` folders.
    """
    destination.mkdir()
    for name in ("pyproject.toml", ".telemetry", *files):
        shutil.copy2(ROOT / name, destination / name)
    for name in ("conf", "src", *folders):
        shutil.copytree(ROOT / name, destination / name, ignore=SKIP)
    (destination / "conf" / "local").mkdir()
    if data_layers:
        for layer in (ROOT / "data").iterdir():
            if layer.is_dir():
                (destination / "data" / layer.name).mkdir(parents=True)
    return destination
