"""Helpers shared by several test modules."""

from kedro.io import MemoryDataset


class Kept(MemoryDataset):
    """A memory dataset the runner cannot release once its readers are done,
    so a test can read an intermediate result after the run."""

    def _release(self) -> None:
        pass


# Metrics that measure the machine, not the model (a run's `run_wall_seconds`,
# SB3's `time/fps`, ...): equal runs differ in them.
WALL_CLOCK = ("seconds", "per_second", "time/fps", "time/time_elapsed")


def measures_the_machine(metric: str) -> bool:
    return any(part in metric for part in WALL_CLOCK) or metric.endswith("_per_s")
