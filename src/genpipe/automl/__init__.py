"""auto-sklearn in an isolated Python 3.9 environment, driven from genpipe."""

from genpipe.automl.bridge import (
    AutoSklearnResult,
    AutoSklearnRunError,
    AutoSklearnUnavailableError,
    find_python,
    run_autosklearn,
    sprint_numbers,
)

__all__ = [
    "AutoSklearnResult",
    "AutoSklearnRunError",
    "AutoSklearnUnavailableError",
    "find_python",
    "run_autosklearn",
    "sprint_numbers",
]
