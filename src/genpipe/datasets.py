"""Kedro datasets genpipe needs beyond kedro-datasets.

The file datasets write atomically (see `genpipe.io`) and reproducibly: the same data
gives the same bytes, so DVC hashes and the reproducibility checks compare
files, not just values. (SB3 agent zips are the exception: SB3 stores wall
times and zip timestamps in them; their weights are what is reproducible.)
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from kedro.io import AbstractDataset, AbstractVersionedDataset, DatasetError, Version
from kedro.io.core import VersionNotFoundError
from kedro_mlflow.io.metrics import MlflowMetricsHistoryDataset

from genpipe.io import atomic_write, atomic_write_bytes

_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed zip timestamps: identical bytes per content


class NpzDataset(AbstractDataset[dict[str, np.ndarray], dict[str, np.ndarray]]):
    """A dict of named numpy arrays as one uncompressed `.npz` (`np.load`-able).

    Unlike `np.savez`, members are written in sorted order with a fixed
    timestamp, so the file is a pure function of the arrays.

    Example catalog entry::

        mnist_train:
          type: genpipe.datasets.NpzDataset
          filepath: data/02_intermediate/mnist_train.npz
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None):
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> dict[str, np.ndarray]:
        with np.load(self._filepath, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}

    def save(self, data: dict[str, np.ndarray]) -> None:
        with atomic_write(self._filepath) as handle, \
                zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
            for key in sorted(data):
                info = zipfile.ZipInfo(f"{key}.npy", date_time=_EPOCH)
                info.create_system = 3  # as on Unix, whatever writes the file
                with archive.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(data[key]),
                                              allow_pickle=False)

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class FigureDataset(AbstractDataset[None, Any]):
    """One matplotlib `Figure` saved as an image (write-only), atomically.

    What `matplotlib.MatplotlibDataset` writes for a single figure, byte for
    byte, without importing pyplot: kedro-mlflow instantiates every catalog
    entry when a run starts, and pyplot's import cost each `kedro run` ~0.4 s,
    whichever pipeline it ran. A figure pyplot manages (shap, optuna) is
    closed once saved, as `MatplotlibDataset` does.

    Example catalog entry::

        evaluator_confusion_matrix:
          type: genpipe.datasets.FigureDataset
          filepath: data/08_reporting/evaluator_confusion_matrix.png
          save_args: {dpi: 120}
    """

    def __init__(self, filepath: str, save_args: dict[str, Any] | None = None,
                 metadata: dict[str, Any] | None = None):
        self._filepath = PurePosixPath(filepath)
        self._save_args = dict(save_args or {})
        self.metadata = metadata

    def load(self) -> None:
        raise DatasetError(f"{self._filepath}: FigureDataset is write-only")

    def save(self, data: Any) -> None:
        if not hasattr(data, "savefig"):
            raise DatasetError(f"{self._filepath}: expected a matplotlib Figure, "
                               f"got {type(data).__name__}")
        buffer = io.BytesIO()
        data.savefig(buffer, **self._save_args)
        atomic_write_bytes(self._filepath, buffer.getvalue())
        if (pyplot := sys.modules.get("matplotlib.pyplot")) is not None:
            pyplot.close(data)

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "save_args": self._save_args}


class TorchDataset(AbstractDataset[Any, Any]):
    """Any `torch.save`-able object (state dicts, PyG `Data`) as a `.pt` file.

    Args:
        filepath: Where the file lives.
        weights_only: Passed to `torch.load`; keep True for state dicts, False
            for trusted objects such as a PyG graph this project wrote itself.
    """

    def __init__(self, filepath: str, weights_only: bool = True,
                 metadata: dict[str, Any] | None = None):
        self._filepath = PurePosixPath(filepath)
        self._weights_only = weights_only
        self.metadata = metadata

    def load(self) -> Any:
        import torch

        return torch.load(self._filepath, map_location="cpu",
                          weights_only=self._weights_only)

    def save(self, data: Any) -> None:
        import torch

        buffer = io.BytesIO()
        torch.save(data, buffer)
        atomic_write_bytes(self._filepath, buffer.getvalue())

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "weights_only": self._weights_only}


class MlflowMetricsDataset(MlflowMetricsHistoryDataset):
    """Metrics of a node: logged into the active MLflow run and, with a
    `filepath`, also kept as a JSON file that later nodes (the report) load.

    Nodes return plain `dict[str, float]` (logged at step 0) or kedro-mlflow's
    `{"value", "step"}` histories. Keys are logged as they are: a model's
    metrics go to its own child run (`genpipe.tracking`), so `fid` means the
    same thing in every family's run.

    Example catalog entry::

        "{ns}.sampling_metrics":
          type: genpipe.datasets.MlflowMetricsDataset
          filepath: data/08_reporting/{ns}_sampling_metrics.json
    """

    def __init__(self, filepath: str | None = None, run_id: str | None = None,
                 metadata: dict[str, Any] | None = None):
        super().__init__(run_id=run_id, metadata=metadata)
        self._filepath = PurePosixPath(filepath) if filepath else None

    def _build_args_list_from_metric_item(self, key: str, value: Any):
        if isinstance(value, int | float):
            value = {"value": float(value), "step": 0}
        values = value if isinstance(value, list) else [value]
        return ((key, item["value"], item["step"]) for item in values)

    # `_load`/`_save`, as the parent defines them: Kedro aliases `load`/`save`
    # to a class's `_load`/`_save` when it has them.
    def _load(self) -> dict[str, Any]:
        if self._filepath is None:
            return super()._load()
        with open(self._filepath, encoding="utf-8") as handle:
            return json.load(handle)

    def _save(self, data: dict[str, Any]) -> None:
        if self._filepath is not None:
            text = json.dumps(data, indent=2, sort_keys=True, allow_nan=True)
            atomic_write_bytes(self._filepath, (text + "\n").encode())
        super()._save(data)

    def _exists(self) -> bool:
        if self._filepath is None:
            return super()._exists()
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "run_id": self._run_id}


class SB3ModelDataset(AbstractVersionedDataset[Any, Any]):
    """A Stable-Baselines3 agent as SB3's own `.zip` (`PPO.load`-able), versionable.

    Args:
        filepath: The zip; with `versioned: true`, Kedro's
            `<filepath>/<timestamp>/<name>` layout, one version per run.
        algorithm: `ppo`, `a2c` or `dqn`: the class that loads the zip (the
            zip itself names only the policy class).
        device: Where a loaded agent's networks go.

    Example catalog entry::

        ppo.policy:
          type: genpipe.datasets.SB3ModelDataset
          filepath: data/06_models/ppo.zip
          algorithm: ppo
          versioned: true
    """

    def __init__(self, filepath: str, algorithm: str, device: str = "cpu",
                 version: Version | None = None,
                 metadata: dict[str, Any] | None = None):
        super().__init__(PurePosixPath(filepath), version)
        self._algorithm = algorithm
        self._device = device
        self.metadata = metadata

    def load(self) -> Any:
        from genpipe.rl.agents import algorithm_class

        return algorithm_class(self._algorithm).load(str(self._get_load_path()),
                                                     device=self._device)

    def save(self, data: Any) -> None:
        buffer = io.BytesIO()
        data.save(buffer)  # SB3 writes its zip to any binary buffer
        atomic_write_bytes(self._get_save_path(), buffer.getvalue())

    def _exists(self) -> bool:
        try:
            return Path(self._get_load_path()).is_file()
        except VersionNotFoundError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "algorithm": self._algorithm,
                "version": self._version}
