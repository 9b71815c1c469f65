"""`kedro run` (and `python -m genpipe`) with one-line errors.

Kedro loads a project's `cli.py` and lets its `run` replace the built-in one.
This `run` is Kedro's own, with every option, except that an error the project
already explains in one line (a parameter, a missing input or device, a lock
held by another run, a refused file, a non-finite loss, a lost DDP rank, a
full disk) is printed as that line and exits 1, instead of ~200 lines of
traceback. The
traceback comes back with `--verbose` or `GENPIPE_DEBUG=1`.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run

DEBUG_ENV = "GENPIPE_DEBUG"


def _explained() -> tuple[type[BaseException], ...]:
    """The project's errors whose message already is the whole story."""
    from kedro.io import DatasetError

    from genpipe.config import ParameterError
    from genpipe.hooks import ReplicaError
    from genpipe.io import LockHeldError, RefusedFileError
    from genpipe.preflight import PreflightError
    from genpipe.training.ddp import RankLostError, RankMismatchError
    from genpipe.training.device import DeviceUnavailableError
    from genpipe.training.engine import NonFiniteLossError

    return (ParameterError, PreflightError, LockHeldError, RefusedFileError,
            DeviceUnavailableError, NonFiniteLossError, DatasetError,
            RankLostError, RankMismatchError, ReplicaError)


def one_line(error: BaseException) -> str | None:
    """The line to print for `error`, or None when its traceback is needed."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"{type(error).__name__}: {error}"
    if isinstance(error, _explained()):
        return f"{type(error).__name__}: {error}"
    return None


def _run(verbose: bool, **kwargs: Any) -> None:
    try:
        kedro_run.callback(**kwargs)
    except Exception as error:  # noqa: BLE001 - re-raised unless explained
        line = one_line(error)
        if line is None or verbose or os.environ.get(DEBUG_ENV) == "1":
            raise
        click.secho(f"genpipe: {line}", err=True, fg="red")
        click.echo(f"(the traceback: rerun with --verbose or {DEBUG_ENV}=1)",
                   err=True)
        sys.exit(1)


@click.group(name="genpipe")
def cli() -> None:
    """genpipe's project commands."""


run = click.Command(
    name="run",
    callback=_run,
    params=[*kedro_run.params,
            click.Option(["--verbose"], is_flag=True, default=False,
                         help="Show the full traceback of an error.")],
    help=kedro_run.help,
    short_help=kedro_run.short_help,
)
cli.add_command(run)
