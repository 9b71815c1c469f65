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
from kedro_datasets import json as _json
from kedro_datasets import pandas as _pandas
from kedro_datasets import text as _text
from kedro_mlflow.io.metrics import MlflowMetricsHistoryDataset
from kedro_mlflow.io.models import MlflowModelLocalFileSystemDataset

from genpipe.io import (
    RefusedFileError,
    atomic_folder,
    atomic_write,
    atomic_write_bytes,
    load_tensors,
)

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
            try:
                return {key: npz[key] for key in npz.files}
            except ValueError as exc:  # an object array: a pickle, refused
                raise _refused(self._filepath, "an .npz holding objects",
                               exc) from None

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


def _refused(path: Any, what: str, exc: BaseException) -> DatasetError:
    """One line naming the file: what it held that a safe load refuses."""
    return DatasetError(str(RefusedFileError.about(path, what, exc)))


def _torch_load_plain(path: Any) -> Any:
    try:
        return load_tensors(path)
    except RefusedFileError as exc:
        raise DatasetError(str(exc)) from None


class TorchDataset(AbstractDataset[Any, Any]):
    """Tensors and plain containers (state dicts) as a `torch.save` `.pt` file.

    Loads with `torch.load(weights_only=True)` only: a file holding anything
    else (a pickled object, a planted `__reduce__`) is refused with one line
    naming it, and nothing in it runs. Graphs use `GraphDataset`.
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None):
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> Any:
        return _torch_load_plain(self._filepath)

    def save(self, data: Any) -> None:
        import torch

        buffer = io.BytesIO()
        torch.save(data, buffer)
        atomic_write_bytes(self._filepath, buffer.getvalue())

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class GraphDataset(TorchDataset):
    """A PyG `Data` graph stored as a plain dict of its tensors (`.pt`).

    A pickled `Data` object could only be loaded unrestricted,
    i.e. trusting every received file; its tensors load safely and the `Data`
    is rebuilt from them.

    Example catalog entry::

        cora_graph:
          type: genpipe.datasets.GraphDataset
          filepath: data/02_intermediate/cora.pt
    """

    def load(self) -> Any:
        from torch_geometric.data import Data

        fields = super().load()
        if not isinstance(fields, dict):
            raise DatasetError(f"{self._filepath}: expected a dict of graph tensors, "
                               f"got {type(fields).__name__}")
        return Data(**fields)

    def save(self, data: Any) -> None:
        super().save(dict(data.to_dict()))


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


def _sb3_allowed(module: str, name: str) -> Any | None:
    """The object a pickle in an SB3 zip may reference, or None when refused.

    Allowed: classes of the kinds SB3 stores (spaces, policies, buffers,
    schedules, optimisers, activations) and numpy's array/RNG reconstructors;
    never a function that could run anything else.
    """
    import importlib

    if (module, name) in _SB3_FUNCTIONS:
        return getattr(importlib.import_module(module), name)
    if module.split(".")[0] not in ("gymnasium", "stable_baselines3", "torch", "numpy"):
        return None
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return obj if isinstance(obj, type) and issubclass(obj, _sb3_classes()) else None


_SB3_FUNCTIONS = {
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy._core.multiarray", "scalar"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.multiarray", "scalar"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("collections", "deque"), ("collections", "OrderedDict"),  # episode buffers
}


def _sb3_classes() -> tuple[type, ...]:
    import gymnasium
    import torch
    from stable_baselines3.common import buffers, policies, type_aliases, utils

    return (gymnasium.spaces.Space, policies.BasePolicy, buffers.BaseBuffer,
            torch.optim.Optimizer, torch.nn.Module, np.random.BitGenerator,
            np.random.Generator, np.random.SeedSequence, np.dtype,
            utils.ConstantSchedule, utils.FloatSchedule, utils.LinearSchedule,
            type_aliases.TrainFreq, type_aliases.TrainFrequencyUnit)


def _sb3_objects(path: Any) -> dict[str, Any]:
    """The `:serialized:` entries of an SB3 zip's `data`, decoded safely."""
    import base64
    import json
    import pickle

    class AllowListUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            obj = _sb3_allowed(module, name)
            if obj is None:
                raise pickle.UnpicklingError(f"Unsupported global: {module}.{name}")
            return obj

    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path}: not a Stable-Baselines3 zip ({exc})") from None
    objects = {}
    for key, item in data.items():
        if isinstance(item, dict) and ":serialized:" in item:
            blob = base64.b64decode(item[":serialized:"].encode())
            try:
                objects[key] = AllowListUnpickler(io.BytesIO(blob)).load()
            except Exception as exc:  # noqa: BLE001 - any failure is a refusal
                raise _refused(path, f"its data entry {key!r}", exc) from None
    return objects


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

        path = self._get_load_path()
        # SB3 would cloudpickle-load every `:serialized:` entry of the zip's
        # `data` (arbitrary code); they are decoded here by an allow-list
        # unpickler instead and handed over as `custom_objects`, which SB3 then
        # uses without unpickling. Its `.pth` members load with weights_only.
        objects = _sb3_objects(path)
        return algorithm_class(self._algorithm).load(str(path), device=self._device,
                                                     custom_objects=objects)

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


# What a safe MLflow model load accepts per flavour: MLflow imports the class
# named in the MLmodel file and, with a `code:` entry, puts the model folder's
# own Python on sys.path first, so a received folder could run anything.
_MLFLOW_MODEL_CLASSES = {
    "xgboost": {"xgboost.core.Booster", "xgboost.sklearn.XGBClassifier",
                "xgboost.sklearn.XGBRegressor", "xgboost.sklearn.XGBRFClassifier",
                "xgboost.sklearn.XGBRFRegressor"},
}


class MlflowModelDataset(MlflowModelLocalFileSystemDataset):
    """kedro-mlflow's local MLflow model folder, loaded only when it runs no code.

    Before `<flavor>.load_model`, its `MLmodel` is read as plain YAML: the
    flavour must be one listed in `_MLFLOW_MODEL_CLASSES`, name one of its
    allowed model classes and carry no `code` folder; anything else is refused
    with one line naming the folder. Saving is as kedro-mlflow's.
    """

    def _load(self) -> Any:
        import yaml

        folder = Path(self._get_load_path())
        flavor = self._flavor.rsplit(".", 1)[-1]
        try:
            mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
            conf = mlmodel["flavors"][flavor]
        except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
            raise DatasetError(f"{folder}: not an MLflow {flavor} model folder "
                               f"({type(exc).__name__}: {exc})") from None
        allowed = _MLFLOW_MODEL_CLASSES.get(flavor, set())
        model_class = conf.get("model_class", "xgboost.core.Booster")
        if conf.get("code") or model_class not in allowed:
            culprit = f"code folder {conf['code']!r}" if conf.get("code") \
                else f"model class {model_class!r}"
            raise DatasetError(f"{folder}: refused to load an MLflow {flavor} model "
                               f"with {culprit} (it would run code); regenerate "
                               "it with this project (e.g. `make repro`)")
        return super()._load()

    def _save(self, model: Any) -> None:
        # kedro-mlflow deletes the folder, then writes the new one in place: a
        # kill in between loses both. Written beside it and swapped in instead.
        if self._flavor == "mlflow.pyfunc":
            super()._save(model)
            return
        target = Path(self._get_save_path())
        with atomic_folder(target) as staging:
            self._mlflow_model_module.save_model(model, str(staging), **self._save_args)


# --- atomic saves for kedro-datasets' file datasets ---------------------------

class _AtomicFile:
    """`open(path, "w"/"wb")` through `genpipe.io.atomic_write`: the handle's
    content replaces `path` only once fully written (binary or text)."""

    def __init__(self, path: str, mode: str, encoding: str | None = None,
                 newline: str | None = None, errors: str | None = None):
        self._path, self._text = path, "b" not in mode
        self._text_args = {"encoding": encoding or "utf-8", "newline": newline,
                           "errors": errors}
        self._context: Any = None
        self._handle: Any = None

    def __enter__(self) -> Any:
        self._context = atomic_write(self._path)
        raw = self._context.__enter__()
        self._handle = io.TextIOWrapper(raw, **self._text_args) if self._text else raw
        return self._handle

    def __exit__(self, *exc_info: Any) -> bool | None:
        if self._text:
            try:
                self._handle.detach()  # flushes; the raw file stays open for fsync
            except Exception:  # noqa: BLE001 - the write's own error wins
                if exc_info[0] is None:
                    raise
        return self._context.__exit__(*exc_info)


class _AtomicLocalFileSystem:
    """A local fsspec filesystem whose write-mode `open` is atomic; every other
    call goes to the wrapped filesystem."""

    def __init__(self, fs: Any):
        self._wrapped = fs

    def open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if mode.startswith("w"):
            return _AtomicFile(path, mode, **kwargs)
        return self._wrapped.open(path, mode, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


class _AtomicSaves:
    """Mixin for kedro-datasets' fsspec file datasets: local saves atomic.

    The one wrapper behind `CSVDataset`, `ParquetDataset`, `JSONDataset` and
    `TextDataset`
    below: their `save` writes through `self._fs.open(path, "w...")`, which
    this routes through `genpipe.io.atomic_write` (a kill mid-write keeps the
    previous file, and stale temporaries of the target are removed).
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if getattr(self, "_protocol", None) == "file":
            self._fs = _AtomicLocalFileSystem(self._fs)


class CSVDataset(_AtomicSaves, _pandas.CSVDataset):
    """kedro-datasets' `pandas.CSVDataset`, saved atomically (same arguments)."""


class ParquetDataset(_AtomicSaves, _pandas.ParquetDataset):
    """kedro-datasets' `pandas.ParquetDataset`, saved atomically (same arguments)."""


class JSONDataset(_AtomicSaves, _json.JSONDataset):
    """kedro-datasets' `json.JSONDataset`, saved atomically (same arguments)."""


class TextDataset(_AtomicSaves, _text.TextDataset):
    """kedro-datasets' `text.TextDataset`, saved atomically (same arguments)."""
