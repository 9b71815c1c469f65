"""Generative families on MNIST, one module per family, registered by name.

A family is a module of this package (its file name is its name, its pipeline
and its parameters block) that defines `MODEL`, a `GenerativeModel` subclass
whose `Config` types the block's `model:` keys. Adding a family means adding
such a module and a YAML block; the `generative` pipeline finds it.
"""

from __future__ import annotations

import importlib

from genpipe.config import (
    GenerativeDataConfig,
    ParameterError,
    family_names,
    validate,
)
from genpipe.models.generative._base import GenerativeModel


def load_family(name: str) -> type[GenerativeModel]:
    """The model class of family `name` (imports its module)."""
    if name not in family_names():
        raise KeyError(f"no generative family {name!r}; known: {family_names()}")
    model = importlib.import_module(f"{__name__}.{name}").MODEL
    if not issubclass(model, GenerativeModel):
        raise TypeError(f"{name}.MODEL is not a GenerativeModel")
    return model


def build(name: str, model_params: dict) -> GenerativeModel:
    """Family `name`'s model from its `model:` block (validated)."""
    model = load_family(name)
    return model(validate(model.Config, model_params, (name, "model")))


def validate_models(params: dict, names: list[str]) -> None:
    """Checks each family's `model:` block against its `Config`.

    Raises:
        ParameterError: naming `parameters.<family>.model.<key>`.
    """
    for name in names:
        check_block(name, params[name])


def check_block(name: str, block: dict) -> None:
    """Family `name`'s `model:` block, and its agreement with the `data:` block
    (`GenerativeModel.check_data`).

    Raises:
        ParameterError: naming `parameters.<family>.model.<key>` or
            `parameters.<family>.data.<key>`.
    """
    model = load_family(name)
    config = validate(model.Config, block.get("model", {}), (name, "model"))
    data = validate(GenerativeDataConfig, block.get("data", {}), (name, "data"))
    problems = model.check_data(config, data)
    if problems:
        raise ParameterError(
            f"{len(problems)} invalid parameter(s); nothing was run:\n" + "\n".join(
                f"  parameters.{name}.data.{key}: {reason}"
                for key, reason in problems.items()))


__all__ = ["GenerativeModel", "build", "check_block", "family_names",
           "load_family", "validate_models"]
